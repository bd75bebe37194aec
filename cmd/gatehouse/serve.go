package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/redirect"
	"github.com/gatehouse-dev/gatehouse/proxy"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
	"github.com/gatehouse-dev/gatehouse/session/redisstore"
)

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Server, stderr)
	redis.SetLogger(redisLogger{logger})
	gw, err := newGateway(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer gw.close()
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	logger.Info("gatehouse listening", "version", version(), "listen", ln.Addr().String(), "public_url", cfg.Server.PublicURL)
	return serve(ctx, ln, gw, cfg.Server, logger)
}

func newLogger(s config.Server, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(s.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if s.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

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
type store interface {
	session.Store
	session.Indexer
	session.Locker
	session.Notifier
	Ping(ctx context.Context) error
	Close() error
}

// newGateway converts the validated configuration into each package's
// options and wires them. Provider discovery runs in the background, retried
// until it succeeds, so the gateway starts (unready) during an AS outage.
func newGateway(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*gateway, error) {
	publicURL, err := url.Parse(strings.TrimSuffix(cfg.Server.PublicURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("server.public_url: %w", err)
	}
	st, err := newStore(cfg.Session)
	if err != nil {
		return nil, err
	}
	gw := &gateway{closers: []func() error{st.Close}}
	secret, err := cfg.CookieSecretBytes()
	if err != nil {
		gw.close()
		return nil, err
	}
	sessions, err := session.NewManager(session.Options{
		Store:       st,
		Secret:      secret,
		CookieName:  cfg.Session.CookieName,
		Secure:      publicURL.Scheme == "https",
		Lifetime:    cfg.Session.Lifetime.Duration,
		IdleTimeout: cfg.Session.IdleTimeout.Duration,
	})
	if err != nil {
		gw.close()
		return nil, err
	}
	lc := login.New(login.Options{
		Issuer:          cfg.Provider.Issuer,
		ClientID:        cfg.Provider.ClientID,
		ClientSecret:    cfg.Provider.ClientSecret,
		Scopes:          cfg.Provider.Scopes,
		ExtraAuthParams: cfg.Provider.ExtraAuthParams,
		UseUserinfo:     cfg.Provider.UseUserinfo,
		HTTPClient:      &http.Client{Timeout: cfg.Provider.Timeout.Duration},
		Logger:          logger,
	})
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
			Name: name, Host: u.Host, PathPrefix: u.PathPrefix, Target: target, Auth: u.Auth,
			PassAccessToken: u.PassAccessToken, PassAuthorization: u.PassAuthorization,
		}
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
		StoreReady:            st.Ping,
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
	return gw, nil
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
func serve(ctx context.Context, ln net.Listener, gw *gateway, s config.Server, logger *slog.Logger) error {
	srv := &http.Server{
		Handler:           gw,
		ReadHeaderTimeout: s.ReadHeaderTimeout.Duration,
		IdleTimeout:       s.IdleTimeout.Duration,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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
