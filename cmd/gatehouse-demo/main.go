// Command gatehouse-demo runs, in one process and on loopback only, the
// development authorization server (internal/devop, which approves the
// logins of its built-in users), a demo upstream that shows the headers it
// received, and the gateway in front of it with the memory session store.
// It is what `make demo` runs. It is a command of its own so that the
// production binary, gatehouse, contains no authorization server.
//
// Usage:
//
//	gatehouse-demo [-listen 127.0.0.1:4180] [-as 127.0.0.1:9000] [-upstream 127.0.0.1:8080] [-log-level info]
//	gatehouse-demo -config config.example.toml [-log-level info]
//
// With -config the gateway runs with that configuration file, and the
// development AS and the demo upstream listen where it says they are
// (democonfig.go).
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "gatehouse-demo:", err)
		}
		os.Exit(1)
	}
}

// errUsage ends the program with status 1 after flag printed the problem.
var errUsage = errors.New("usage")

// run is the whole program; main only supplies the process's context,
// arguments, environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("gatehouse-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:4180", "gateway address")
	asAddr := fs.String("as", "127.0.0.1:9000", "development authorization server address")
	upAddr := fs.String("upstream", "127.0.0.1:8080", "demo upstream address")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	cfgPath := fs.String("config", "", "run the gateway with this configuration file (config.example.toml); the AS and the upstream listen at its provider.issuer and first upstream url")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	var file *demoFile
	if *cfgPath != "" {
		if explicit(fs, "listen", "as", "upstream") {
			return fmt.Errorf("-config: the addresses come from %s; leave out -listen, -as and -upstream", *cfgPath)
		}
		if file, err = loadDemoFile(*cfgPath, getenv); err != nil {
			return err
		}
		*listen, *asAddr, *upAddr = file.listen, file.as, file.upstream
		if !explicit(fs, "log-level") {
			*level = file.cfg.Server.LogLevel
		}
	}
	lns := make([]net.Listener, 0, 3)
	for _, a := range []string{*asAddr, *upAddr, *listen} {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return fmt.Errorf("listen on %s: %w (choose another with -listen, -as or -upstream)", a, err)
		}
		lns = append(lns, ln)
	}
	asLn, upLn, gwLn := lns[0], lns[1], lns[2]
	issuer := "http://" + asLn.Addr().String()
	publicURL := "http://" + gwLn.Addr().String()
	clientID, clientSecret := "gatehouse-demo", randomToken()
	if file != nil {
		issuer, publicURL = file.cfg.Provider.Issuer, strings.TrimSuffix(file.cfg.Server.PublicURL, "/")
		clientID, clientSecret = file.cfg.Provider.ClientID, file.cfg.Provider.ClientSecret
	}

	logger := server.NewLogger(config.Server{LogLevel: *level}, stderr)
	as, err := devop.New(devop.Options{
		Issuer:              issuer,
		RotateRefreshTokens: true,
		Clients: []devop.Client{{
			ID: clientID, Secret: clientSecret,
			RedirectURIs:           []string{publicURL + "/oauth2/callback"},
			PostLogoutRedirectURIs: []string{publicURL + "/"},
		}},
		Logger: logger.With("component", "devop"),
	})
	if err != nil {
		return err
	}
	cfgText := fmt.Sprintf(`
[server]
listen = %q
public_url = %q
[provider]
issuer = %q
client_id = "gatehouse-demo"
scopes = ["openid", "email", "profile", "groups", "offline_access"]
[session]
store = "memory"
[[upstream]]
name = "demo"
path_prefix = "/"
url = "http://%s"
`, gwLn.Addr().String(), publicURL, issuer, upLn.Addr().String())
	env := map[string]string{config.EnvClientSecret: clientSecret, config.EnvCookieSecret: randomToken()}
	var cfg *config.Config
	if file != nil {
		cfg = file.cfg
	} else {
		cfg, err = config.Parse([]byte(cfgText), func(k string) string { return env[k] })
	}
	if err == nil {
		cfg.Server.LogLevel = *level
		err = cfg.Validate()
	}
	var rt *config.Runtime
	if err == nil {
		rt, err = config.Compile(cfg)
	}
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	access := server.NewAccessLog(cfg.Server, stderr)
	defer func() { err = errors.Join(err, access.Close()) }()
	gw, err := server.New(ctx, rt, server.Options{Logger: logger.With("component", "gateway"), AccessLog: access.Logger()})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, gw.Close()) }()

	servers := []*http.Server{
		{Handler: as, ReadHeaderTimeout: 10 * time.Second},
		{Handler: http.HandlerFunc(demoUpstream), ReadHeaderTimeout: 10 * time.Second},
	}
	errc := make(chan error, 3)
	for i, srv := range servers {
		go func() { errc <- srv.Serve(lns[i]) }()
	}
	go func() { errc <- gw.Serve(ctx, gwLn, nil) }()

	fmt.Fprintf(stdout, `
Gatehouse demo is running.

  Open            %s/
  Log in as       alice / alice   (groups admins, staff)
               or bob / bob       (group staff)
  Sign out        %s/oauth2/sign_out   (asks to confirm; sign-out is a POST)
  Development AS  %s
  Demo upstream   http://%s (direct access shows no identity)

Press Ctrl-C to stop.
`, publicURL, publicURL, issuer, upLn.Addr().String())

	err = <-errc // the gateway returns when ctx ends
	for _, srv := range servers {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("demo stopped")
	return nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// demoUpstream shows the request it received, identity headers first.
func demoUpstream(w http.ResponseWriter, r *http.Request) {
	type header struct{ Name, Value string }
	var ident, other []header
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := strings.Join(r.Header.Values(k), ", ")
		if k == "X-Forwarded-Access-Token" || k == "Authorization" {
			v = "[present, " + fmt.Sprint(len(v)) + " characters]"
		}
		if strings.HasPrefix(k, "X-Forwarded-") {
			ident = append(ident, header{k, v})
		} else {
			other = append(other, header{k, v})
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = demoPage.Execute(w, map[string]any{
		"User": r.Header.Get("X-Forwarded-Preferred-Username"), "Method": r.Method, "URI": r.URL.RequestURI(),
		"Identity": ident, "Other": other,
	})
}

var demoPage = template.Must(template.New("demo").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo application · Gatehouse</title>
<style>body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1f2933;margin:2rem}
main{background:#fff;max-width:52rem;margin:auto;padding:1.5rem 2rem;border-radius:10px;box-shadow:0 2px 12px rgba(0,0,0,.08)}
table{border-collapse:collapse;width:100%}td{border-top:1px solid #e4e7eb;padding:.35rem .5rem;font-family:ui-monospace,monospace;font-size:.9rem;word-break:break-all}
td:first-child{width:16rem;color:#52606d}h2{font-size:1.05rem;margin-top:1.5rem}.who{font-size:1.2rem}</style></head>
<body><main>
<h1>Demo application</h1>
<p class="who" id="who">{{if .User}}Hello, <strong>{{.User}}</strong>. The gateway told this application who you are.{{else}}No identity headers: this request did not come through the gateway.{{end}}</p>
<p><code>{{.Method}} {{.URI}}</code> · <a href="/oauth2/userinfo">/oauth2/userinfo</a> ·
<form method="post" action="/oauth2/sign_out" style="display:inline"><button type="submit" id="sign-out">Sign out</button></form></p>
<h2>Identity headers set by Gatehouse</h2>
<table id="identity">{{range .Identity}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>{{else}}<tr><td colspan="2">none</td></tr>{{end}}</table>
<h2>Other request headers</h2>
<table>{{range .Other}}<tr><td>{{.Name}}</td><td>{{.Value}}</td></tr>{{end}}</table>
</main></body></html>
`))
