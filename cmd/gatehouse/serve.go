package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/internal/accesslog"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/proxy"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
	"github.com/gatehouse-dev/gatehouse/session/redisstore"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	var m *metrics.Metrics
	if cfg.Server.MetricsListen != "" {
		m = metrics.New()
	}
	logger := newLogger(cfg.Server, stderr, m)
	redis.SetLogger(redisLogger{logger})
	tuneGC(cfg.Server.GCMinHeapMiB, getenv, logger)
	limitMemory(memlimit.FromCgroup, logger)
	var tlsConf *tls.Config
	if cfg.Server.TLSCertFile != "" {
		cr, err := newCertReloader(cfg.Server.TLSCertFile, cfg.Server.TLSKeyFile, logger)
		if err != nil {
			return err
		}
		tlsConf = cr.tlsConfig()
	}
	access := newAccessLog(cfg.Server, stderr)
	if access != nil {
		defer access.close()
	}
	gw, err := newGateway(ctx, cfg, logger, m, access.logger())
	if err != nil {
		return err
	}
	defer gw.close()
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	if m != nil {
		stop, err := serveMetrics(cfg.Server.MetricsListen, m, cfg.Server.Pprof, logger)
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
	}
	logger.Info("gatehouse listening", "version", version(), "listen", ln.Addr().String(),
		"public_url", cfg.Server.PublicURL, "tls", tlsConf != nil, "metrics", cfg.Server.MetricsListen)
	return serve(ctx, ln, tlsConf, gw, cfg.Server, logger)
}

// serveMetrics serves GET /metrics on its own listener, and with withPprof
// Go's profiler under /debug/pprof/.
func serveMetrics(addr string, m *metrics.Metrics, withPprof bool, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("server.metrics_listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index) // also the named profiles: heap, goroutine, allocs, ...
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener stopped", "error", err)
		}
	}()
	return func() { _ = srv.Close() }, nil
}

// newLogger builds the process's logger; with metrics, the audit events it
// carries also move the counters.
func newLogger(s config.Server, w io.Writer, m *metrics.Metrics) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevel(s)}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if s.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	if m != nil {
		h = m.EventHandler(h)
	}
	return slog.New(h)
}

// logLevel is server.log_level (validated; info when empty).
func logLevel(s config.Server) slog.Level {
	var level slog.Level
	_ = level.UnmarshalText([]byte(s.LogLevel))
	return level
}

// accessLog is the access log and the batching writer under it.
type accessLog struct {
	l *accesslog.Logger
	w *accesslog.Writer
}

// newAccessLog returns the access log server.access_log asks for, in the
// process log's format, or nil when it is off (also when log_level is above
// info: access lines are info lines).
func newAccessLog(s config.Server, w io.Writer) *accessLog {
	if !s.AccessLog || logLevel(s) > slog.LevelInfo {
		return nil
	}
	aw := accesslog.NewWriter(w, s.AccessLogFlushInterval.Duration)
	return &accessLog{l: accesslog.New(aw, s.LogFormat == "json"), w: aw}
}

func (a *accessLog) logger() *accesslog.Logger {
	if a == nil {
		return nil
	}
	return a.l
}

// close writes the lines still queued.
func (a *accessLog) close() { _ = a.w.Close() }

// redisLogger sends go-redis's internal messages (reconnects, failovers) to
// the gateway's log at debug level; failures reach the gateway as errors.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// gateway is the wired handler and what must be closed after it.
type gateway struct {
	*proxy.Gateway
	closers []func() error
}

func (g *gateway) close() {
	for i := len(g.closers) - 1; i >= 0; i-- {
		_ = g.closers[i]()
	}
}

// store is what the gateway needs of a session store: both memstore and
// redisstore provide all of it.
type store = metrics.FullStore

// The metrics count what the gateway's limits do.
var _ proxy.LimitObserver = (*metrics.Metrics)(nil)

// newGateway converts the validated configuration into each package's
// options and wires them. Provider discovery runs in the background, retried
// until it succeeds, so the gateway starts (unready) during an AS outage.
func newGateway(ctx context.Context, cfg *config.Config, logger *slog.Logger, m *metrics.Metrics, access *accesslog.Logger) (*gateway, error) {
	publicURL, err := url.Parse(strings.TrimSuffix(cfg.Server.PublicURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("server.public_url: %w", err)
	}
	st, err := newStore(cfg.Session)
	if err != nil {
		return nil, err
	}
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
	gw := &gateway{closers: []func() error{st.Close}}
	secret, err := cfg.CookieSecretBytes()
	if err != nil {
		gw.close()
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
		Logger:       logger,
	})
	if err != nil {
		gw.close()
		return nil, err
	}
	lo, err := providerLogin(cfg.Provider, asTransport, logger) // clientauth.go
	if err != nil {
		gw.close()
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
			gw.close()
			return nil, fmt.Errorf("server.trusted_proxies: %w", err)
		}
		trusted = append(trusted, p)
	}
	routes := make([]proxy.Route, len(cfg.Upstreams))
	for i, u := range cfg.Upstreams {
		target, err := url.Parse(u.URL)
		if err != nil {
			gw.close()
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
		gw.close()
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
		gw.close()
		return nil, err
	}
	gw.Gateway = g
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

func newStore(s config.Session) (store, error) {
	if s.Store != "redis" {
		return memstore.New(), nil
	}
	st, err := redisstore.New(redisstore.Options{
		URL:           s.Redis.URL,
		SentinelAddrs: s.Redis.SentinelAddrs,
		MasterName:    s.Redis.MasterName,
		ClusterAddrs:  s.Redis.ClusterAddrs,
		Username:      s.Redis.Username,
		Password:      s.Redis.Password,
		KeyPrefix:     s.Redis.KeyPrefix,
	})
	if err != nil {
		return nil, fmt.Errorf("session.redis: %w", err)
	}
	return st, nil
}

// serve runs the HTTP server until ctx ends, then drains: /readyz turns
// unready, the listener closes and in-flight requests get up to
// shutdown_timeout to finish.
func serve(ctx context.Context, ln net.Listener, tlsConf *tls.Config, gw *gateway, s config.Server, logger *slog.Logger) error {
	srv := &http.Server{
		Handler:           gw,
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
	gw.Drain()
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
