package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// demoFile is a configuration file the demo runs the gateway with
// (-config), and the addresses it implies for the demo's own servers.
type demoFile struct {
	cfg *config.Config
	// listen is server.listen; as is provider.issuer's host and port (the
	// development AS); upstream is the first upstream's (the demo
	// application).
	listen, as, upstream string
}

// loadDemoFile loads and validates path, and checks that the demo can play
// its parts: an issuer and a first upstream at http://loopback:port, which
// the development AS and the demo application then serve. The AS registers
// the file's client_id and client_secret.
func loadDemoFile(path string, getenv func(string) string) (*demoFile, error) {
	cfg, err := config.Load(path, getenv)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("-config: %w", err)
	}
	f := &demoFile{cfg: cfg, listen: cfg.Server.Listen}
	var errs []error
	if f.as, err = loopbackHostPort(cfg.Provider.Issuer, false); err != nil {
		errs = append(errs, fmt.Errorf("provider.issuer: %w: the demo's development AS serves it", err))
	}
	if cfg.Provider.ClientSecret == "" {
		errs = append(errs, errors.New("provider.client_secret: the demo's AS needs it (the file, client_secret_file or GATEHOUSE_CLIENT_SECRET)"))
	}
	switch {
	case len(cfg.Upstreams) == 0:
		errs = append(errs, errors.New("upstream: the demo serves the first upstream; there is none"))
	default:
		if f.upstream, err = loopbackHostPort(cfg.Upstreams[0].URL, true); err != nil {
			errs = append(errs, fmt.Errorf("upstream[0].url: %w: the demo application serves it", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("-config %s: %w", path, err)
	}
	return f, nil
}

// loopbackHostPort returns the host:port of an http URL on a loopback
// address with an explicit port, without a path unless allowPath.
func loopbackHostPort(raw string, allowPath bool) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	ip := net.ParseIP(u.Hostname())
	if u.Scheme != "http" || ip == nil || !ip.IsLoopback() || u.Port() == "" || (!allowPath && u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("%q is not http://<loopback address>:<port>", raw)
	}
	return u.Host, nil
}

// explicit reports whether any of the flags was set on the command line.
func explicit(fs *flag.FlagSet, names ...string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		for _, n := range names {
			set = set || f.Name == n
		}
	})
	return set
}
