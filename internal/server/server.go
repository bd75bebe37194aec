// Package server assembles a running Gatehouse from a validated
// configuration: the session store, the login client, the bearer-token
// verifier and the proxy, wired together, and the HTTP server that serves
// them until its context ends. It is the wiring that the gatehouse command
// and the development command gatehouse-demo share.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/accesslog"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/proxy"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// Options are the process-wide parts the gateway reports to; all may be nil.
type Options struct {
	Logger    *slog.Logger
	Metrics   *metrics.Metrics
	AccessLog *accesslog.Logger
}

// Server is the wired gateway and what must be closed after it.
type Server struct {
	gw      *proxy.Gateway
	cfg     config.Server
	logger  *slog.Logger
	closers []func() error
}

// The metrics count what the gateway's limits do.
var _ proxy.LimitObserver = (*metrics.Metrics)(nil)

// Close releases what New opened (the session store, the background
// discovery and notification loops), last opened first.
func (s *Server) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// New converts the validated configuration into each package's options and
// wires them. Provider discovery runs in the background, retried until it
// succeeds, so the gateway starts (unready) during an AS outage. The
// background work stops on Close, not when ctx ends.
func New(ctx context.Context, cfg *config.Config, o Options) (_ *Server, err error) {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, access := o.Metrics, o.AccessLog
	gw := &Server{cfg: cfg.Server, logger: logger}
	defer func() { // one cleanup path for every failure below
		if err != nil {
			err = errors.Join(err, gw.Close())
		}
	}()
	publicURL, err := url.Parse(strings.TrimSuffix(cfg.Server.PublicURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("server.public_url: %w", err)
	}
	st, err := NewStore(cfg.Session)
	if err != nil {
		return nil, err
	}
	gw.closers = append(gw.closers, st.Close)
	asTransport := http.DefaultTransport.(*http.Transport).Clone()
	asTransport.Proxy = http.ProxyFromEnvironment // calls to the AS may need an egress proxy
	var asRT http.RoundTripper = asTransport
	var wrapUpstream func(http.RoundTripper) http.RoundTripper // each upstream pool, for metrics
	var observer proxy.RequestObserver
	var limitObs proxy.LimitObserver
	var observeJWKS, observeBearer func(string)
	if m != nil {
		st = m.Store(st)
		asRT, wrapUpstream = m.ASTransport(asRT), m.UpstreamTransport
		observer, limitObs = m, m
		observeJWKS, observeBearer = m.ObserveJWKS, m.ObserveBearer
	}
	secret, err := cfg.CookieSecretBytes()
	if err != nil {
		return nil, err
	}
	sessions, err := session.NewManager(session.Options{
		Store:        st,
		Secret:       secret,
		CookieName:   cfg.Session.CookieName,
		CookieDomain: cfg.Session.CookieDomain,
		Secure:       publicURL.Scheme == "https",
		Lifetime:     cfg.Session.Lifetime.Duration,
		IdleTimeout:  cfg.Session.IdleTimeout.Duration,
		CacheMaxAge:  cacheMaxAge(cfg.Session.CacheMaxAge.Duration),
	})
	if err != nil {
		return nil, err
	}
	lo, err := providerLogin(cfg.Provider, asTransport, logger) // clientauth.go
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.GrantWarnings() {
		logger.Warn(w, "event", "config_warning")
	}
	lo.Issuer, lo.ClientID, lo.ClientSecret = cfg.Provider.Issuer, cfg.Provider.ClientID, cfg.Provider.ClientSecret
	lo.Scopes, lo.ExtraAuthParams, lo.UseUserinfo = cfg.Provider.Scopes, cfg.Provider.ExtraAuthParams, cfg.Provider.UseUserinfo
	lo.HTTPClient = &http.Client{Timeout: cfg.Provider.Timeout.Duration, Transport: asRT}
	lo.Logger = logger
	lo.KeyRefetchInterval, lo.ObserveKeys = cfg.Limits.JWKSRefetchInterval.Duration, observeJWKS
	lc := login.New(lo)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	gw.closers = append(gw.closers, func() error { cancel(); return nil })
	go func() { _ = lc.Run(runCtx) }()

	var trusted []netip.Prefix
	for _, s := range cfg.Server.TrustedProxies {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("server.trusted_proxies: %w", err)
		}
		trusted = append(trusted, p)
	}
	routes := make([]proxy.Route, len(cfg.Upstreams))
	for i, u := range cfg.Upstreams {
		target, err := url.Parse(u.URL)
		if err != nil {
			return nil, fmt.Errorf("upstream[%d].url: %w", i, err)
		}
		name := u.Name
		if name == "" {
			name = fmt.Sprintf("upstream-%d", i)
		}
		routes[i] = proxy.Route{
			Name: name, Host: u.Host, PathPrefix: u.PathPrefix, CaseSensitivePaths: u.CaseSensitivePaths, Target: target, Auth: u.Auth,
			PassAccessToken: u.PassAccessToken, PassAuthorization: u.PassAuthorization,
			Rules: cfg.UpstreamRules(i),
			Transport: upstream.TransportOptions{
				ResponseHeaderTimeout: u.Timeout.Duration,
				IdleConnTimeout:       u.IdleTimeout.Duration,
			},
			BodyReadTimeout: u.BodyReadTimeout.Duration,
		}
		routeToken(u, &routes[i]) // clientauth.go
	}
	bv, err := newBearerVerifier(cfg, lc, asRT, observeBearer)
	if err != nil {
		return nil, err
	}
	g, err := proxy.New(proxy.Options{
		PublicURL:             publicURL,
		Login:                 lc,
		Sessions:              sessions,
		Routes:                routes,
		Redirects:             redirect.New(publicURL, cfg.Server.AllowedRedirectDomains),
		Claims:                identity.Mapping{User: cfg.Headers.User, Email: cfg.Headers.Email, PreferredUsername: cfg.Headers.PreferredUsername, Groups: cfg.Headers.Groups},
		TrustedProxies:        trusted,
		RefreshBefore:         cfg.Session.RefreshBefore.Duration,
		Locker:                st,
		Notifier:              st,
		OutliveAccessToken:    cfg.Session.OutliveAccessToken,
		EndSessionAtAS:        cfg.Provider.RPInitiatedLogout,
		PostLogoutRedirectURI: cfg.Provider.PostLogoutRedirectURI,
		EndSessionBinding:     cfg.Provider.EndSessionBinding,
		REST:                  restOptions(cfg.RESTAPI),
		StoreReady:            st.Ping,
		DefaultRules:          cfg.DefaultRules(),
		Bearer:                bv,
		WrapTransport:         wrapUpstream,
		BodyReadTimeout:       cfg.Server.BodyReadTimeout.Duration,
		AccessLog:             access,
		Observer:              observer,
		FlowLimits:            proxy.FlowLimits{PerBrowser: cfg.Limits.FlowsPerBrowser, PerClient: cfg.Limits.FlowsPerClient},
		LimitObserver:         limitObs,
		Logger:                logger,
	})
	if err != nil {
		return nil, err
	}
	gw.gw = g
	go func() {
		if err := g.Run(runCtx); err != nil {
			logger.Error("refresh notifications stopped", "error", err)
		}
	}()
	go func() {
		if err := sessions.Run(runCtx); err != nil {
			logger.Error("session cache invalidations stopped; the cache is off", "error", err)
		}
	}()
	return gw, nil
}

// cacheMaxAge converts session.cache_max_age, where 0 disables the cache,
// to session.Options.CacheMaxAge, where 0 is the default.
func cacheMaxAge(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Serve runs the HTTP server on ln (with TLS when tlsConf is not nil) until
// ctx ends, then drains: /readyz turns unready, the listener closes and
// in-flight requests get up to server.shutdown_timeout to finish.
func (gw *Server) Serve(ctx context.Context, ln net.Listener, tlsConf *tls.Config) error {
	s, logger := gw.cfg, gw.logger
	srv := &http.Server{
		Handler:           gw.gw,
		ReadHeaderTimeout: s.ReadHeaderTimeout.Duration,
		IdleTimeout:       s.IdleTimeout.Duration,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConf,
	}
	errc := make(chan error, 1)
	go func() {
		if tlsConf != nil {
			errc <- srv.ServeTLS(ln, "", "") // HTTP/2 is negotiated by ALPN
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", s.ShutdownTimeout.Duration)
	gw.gw.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), max(s.ShutdownTimeout.Duration, time.Second))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Connections still open after the timeout (requests that did not
		// finish, or browsers' pre-opened connections that never sent one)
		// are closed; the shutdown itself went as configured.
		logger.Warn("shutdown timeout reached; closing remaining connections", "error", err)
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}
