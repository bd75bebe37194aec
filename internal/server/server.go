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
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/accesslog"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/internal/tracing"
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
var (
	_ proxy.LimitObserver   = (*metrics.Metrics)(nil)
	_ proxy.EventObserver   = (*metrics.Metrics)(nil)
	_ proxy.RequestObserver = (*metrics.Metrics)(nil)
)

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

// New wires the compiled configuration: it opens the session store and
// starts the login client, the bearer verifier and the proxy. Provider
// discovery runs in the background, retried until it succeeds, so the
// gateway starts (unready) during an AS outage. The background work stops
// on Close, not when ctx ends.
func New(ctx context.Context, rt *config.Runtime, o Options) (_ *Server, err error) {
	cfg := rt.Config
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := o.Metrics
	srv := &Server{cfg: cfg.Server, logger: logger}
	defer func() { // one cleanup path for every failure below
		if err != nil {
			err = errors.Join(err, srv.Close())
		}
	}()
	st, err := NewStore(cfg.Session)
	if err != nil {
		return nil, err
	}
	srv.closers = append(srv.closers, st.Close)
	asTr, err := asTransport(cfg.Provider, logger)
	if err != nil {
		return nil, err
	}
	var asRT http.RoundTripper = asTr
	var wrapUpstream func(http.RoundTripper) http.RoundTripper // each upstream pool, for metrics
	var observer proxy.RequestObserver
	var limitObs proxy.LimitObserver
	var events proxy.EventObserver
	var observeJWKS, observeBearer func(string)
	tracer, stopTracing, err := newTracer(ctx, cfg.Tracing, logger) // tracing.go
	if err != nil {
		return nil, err
	}
	if tracer != nil {
		srv.closers = append(srv.closers, stopTracing)
		st = &tracedStore{FullStore: st, tracer: tracer}
		asRT = tracing.Transport(tracer, asRT, tracing.ASCall) // a span and a traceparent for every AS call
	}
	if m != nil {
		st = m.Store(st)
		asRT, wrapUpstream = m.ASTransport(asRT), m.UpstreamTransport
		observer, limitObs, events = m, m, m
		observeJWKS, observeBearer = m.ObserveJWKS, m.ObserveBearer
	}
	so := rt.Session
	so.Store, so.Logger = st, logger
	sessions, err := session.NewManager(so)
	if err != nil {
		return nil, err
	}
	for _, w := range append(cfg.GrantWarnings(), cfg.SessionWarnings()...) {
		logger.LogAttrs(ctx, slog.LevelWarn, w, audit.Event{Kind: audit.ConfigWarning}.Attrs()...)
	}
	lo := rt.Login
	lo.HTTPClient = &http.Client{Timeout: cfg.Provider.Timeout.Duration, Transport: asRT}
	lo.Logger, lo.ObserveKeys = logger, observeJWKS
	lc := login.New(lo)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	srv.closers = append(srv.closers, func() error { cancel(); return nil })
	go func() { _ = lc.Run(runCtx) }()

	routes := make([]proxy.Route, len(cfg.Upstreams))
	for i, u := range cfg.Upstreams {
		cu := rt.Upstreams[i]
		routes[i] = proxy.Route{
			Name: cu.Name, Host: u.Host, PathPrefix: u.PathPrefix, CaseSensitivePaths: u.CaseSensitivePaths, Target: cu.Target, Auth: u.Auth,
			PassAccessToken: u.PassAccessToken, PassAuthorization: u.PassAuthorization,
			Rules:         cu.Rules,
			UpstreamToken: u.UpstreamToken, TokenParams: cu.TokenParams,
			Transport: upstream.TransportOptions{
				ResponseHeaderTimeout: u.Timeout.Duration,
				IdleConnTimeout:       u.IdleTimeout.Duration,
			},
			BodyReadTimeout: u.BodyReadTimeout.Duration,
		}
		withUpstreamOptions(&routes[i], &u) // upstream.go
	}
	bv, err := newBearerVerifier(cfg, lc, asRT, observeBearer)
	if err != nil {
		return nil, err
	}
	g, err := proxy.New(proxy.Options{
		PublicURL:             rt.PublicURL,
		Login:                 lc,
		Sessions:              sessions,
		Routes:                routes,
		Redirects:             redirect.New(rt.PublicURL, cfg.Server.AllowedRedirectDomains),
		Claims:                identity.Mapping{User: cfg.Headers.User, Email: cfg.Headers.Email, PreferredUsername: cfg.Headers.PreferredUsername, Groups: cfg.Headers.Groups},
		TrustedProxies:        rt.TrustedProxies,
		RefreshBefore:         cfg.Session.RefreshBefore.Duration,
		OutliveAccessToken:    cfg.Session.OutliveAccessToken,
		EndSessionAtAS:        cfg.Provider.RPInitiatedLogout,
		PostLogoutRedirectURI: cfg.Provider.PostLogoutRedirectURI,
		EndSessionBinding:     cfg.Provider.EndSessionBinding,
		REST:                  restOptions(cfg.RESTAPI),
		StoreReady:            st.Ping,
		DefaultRules:          cfg.DefaultRules(),
		Bearer:                bv,
		Assertions:            rt.Assertions,
		WrapTransport:         wrapUpstream,
		BodyReadTimeout:       cfg.Server.BodyReadTimeout.Duration,
		HealthAliases:         cfg.Server.HealthAliases,
		AccessLog:             o.AccessLog,
		Observer:              observer,
		Tracer:                tracer,
		FlowLimits:            proxy.FlowLimits{PerBrowser: cfg.Limits.FlowsPerBrowser, PerClient: cfg.Limits.FlowsPerClient},
		LimitObserver:         limitObs,
		Events:                events,
		Logger:                logger,
		Pages:                 rt.Pages,
	})
	if err != nil {
		return nil, err
	}
	srv.gw = g
	go func() {
		if err := sessions.Run(runCtx); err != nil {
			logger.Error("session cache invalidations stopped; the cache is off", "error", err)
		}
	}()
	return srv, nil
}

// RouteMetrics is the route of the metrics listener's requests in the
// access log and the request metrics.
const RouteMetrics = proxy.RouteMetrics

// Observed returns h with a request ID, an access log line and request
// metrics under route, as the gateway's own requests get (the metrics
// listener: proxy.RouteMetrics).
func (srv *Server) Observed(route string, h http.Handler) http.Handler {
	return srv.gw.Observed(route, h)
}

// Serve runs the HTTP server on ln (with TLS when tlsConf is not nil) until
// ctx ends, then drains: /readyz turns unready, the listener closes and
// in-flight requests get up to server.shutdown_timeout to finish.
func (srv *Server) Serve(ctx context.Context, ln net.Listener, tlsConf *tls.Config) error {
	s, logger := srv.cfg, srv.logger
	hs := &http.Server{
		Handler:           srv.gw,
		ReadHeaderTimeout: s.ReadHeaderTimeout.Duration,
		IdleTimeout:       s.IdleTimeout.Duration,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConf,
	}
	errc := make(chan error, 1)
	go func() {
		if tlsConf != nil {
			errc <- hs.ServeTLS(ln, "", "") // HTTP/2 is negotiated by ALPN
			return
		}
		errc <- hs.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", s.ShutdownTimeout.Duration)
	srv.gw.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), max(s.ShutdownTimeout.Duration, time.Second))
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		// Connections still open after the timeout (requests that did not
		// finish, or browsers' pre-opened connections that never sent one)
		// are closed; the shutdown itself went as configured.
		logger.Warn("shutdown timeout reached; closing remaining connections", "error", err)
		_ = hs.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}
