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
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-dev/gatehouse/internal/certreload"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

const serveUsage = `Usage: gatehouse [serve] [-config FILE]

Runs the gateway until SIGINT or SIGTERM, then shuts down gracefully. A
configuration that is not valid is refused, with every problem printed.

` + configUsage

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("serve", stderr)
	path := configFlag(fs)
	if err := parseFlags(fs, serveUsage, args, 0, stdout, stderr); err != nil {
		return helped(err)
	}
	rt, err := loadConfig(configSource(fs, *path, getenv), stderr)
	if err != nil {
		return err
	}
	cfg := rt.Config
	var m *metrics.Metrics
	if cfg.Server.MetricsListen != "" {
		m = metrics.New()
		// gatehouse_build_info says what gatehouse version says, link-time
		// values included (a Docker build has no VCS stamp).
		b := readBuildInfo()
		m.SetBuildInfo(metrics.BuildInfo{Version: b.version, Revision: b.revisionString(), GoVersion: b.goVersion})
	}
	logger := server.NewLogger(cfg.Server, stderr)
	redis.SetLogger(server.RedisLogger{L: logger})
	tuneGC(cfg.Server.GCMinHeapMiB, getenv, logger)
	limitMemory(memlimit.FromCgroup, logger)

	// Everything opened below is closed here, last opened first, whatever
	// the way out.
	var closers []func() error
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			err = errors.Join(err, closers[i]())
		}
	}()
	var tlsConf *tls.Config
	if cfg.Server.TLSCertFile != "" {
		cr, err := certreload.New(cfg.Server.TLSCertFile, cfg.Server.TLSKeyFile, logger)
		if err != nil {
			return err
		}
		tlsConf = cr.ServerConfig()
	}
	access := server.NewAccessLog(cfg.Server, stderr)
	closers = append(closers, access.Close)
	gw, err := server.New(ctx, rt, server.Options{Logger: logger, Metrics: m, AccessLog: access.Logger()})
	if err != nil {
		return err
	}
	closers = append(closers, gw.Close)
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	if m != nil {
		observed := func(h http.Handler) http.Handler { return gw.Observed(server.RouteMetrics, h) } // scrapes are logged and counted too
		stop, err := serveMetrics(cfg.Server.MetricsListen, m, cfg.Server.Pprof, logger, observed)
		if err != nil {
			ln.Close()
			return err
		}
		closers = append(closers, stop)
	}
	logger.Info("gatehouse listening", "version", version(), "listen", ln.Addr().String(),
		"public_url", cfg.Server.PublicURL, "tls", tlsConf != nil, "metrics", cfg.Server.MetricsListen)
	return gw.Serve(ctx, ln, tlsConf)
}

// serveMetrics serves GET /metrics on its own listener, and with withPprof
// Go's profiler under /debug/pprof/; wrap, if any, wraps the listener's
// handler (the access log and request metrics).
func serveMetrics(addr string, m *metrics.Metrics, withPprof bool, logger *slog.Logger, wrap ...func(http.Handler) http.Handler) (stop func() error, err error) {
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
	var h http.Handler = mux
	for _, w := range wrap {
		h = w(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener stopped", "error", err)
		}
	}()
	return func() error { _ = srv.Close(); return nil }, nil
}
