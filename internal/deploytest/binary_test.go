package deploytest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/redistest"
)

// TestBinary builds gatehouse as the Dockerfile does and runs it with each
// rendered deployment's command line, configuration file and environment:
// check-config accepts them, and `serve` answers the probes on the
// container port (with the provider and Redis replaced by local ones).
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gatehouse binary")
	}
	df := parseDockerfile(t)
	bin := buildAsDockerfile(t, df)
	rs := renderings(t)
	for _, r := range rs {
		r.inspect(t, df)
	}

	t.Run("version", func(t *testing.T) {
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "gatehouse deploytest\n") ||
			!strings.Contains(string(out), "revision:  "+deploytestRevision+"\n") ||
			!strings.Contains(string(out), "built:     2026-01-02T03:04:05Z\n") {
			t.Errorf("gatehouse version: %q, %v; want the -X main.buildVersion, buildRevision and buildTime of the Dockerfile", out, err)
		}
	})

	for _, r := range rs {
		t.Run("check-config/"+r.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "gatehouse.toml")
			if err := os.WriteFile(file, r.configTOML, 0o600); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"check-config"}, withConfig(r.cli, file)[1:]...)
			cmd := exec.Command(bin, args...)
			cmd.Env = r.environ()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}

	for _, r := range rs {
		t.Run("serve/"+r.name, func(t *testing.T) {
			r.serveAndProbe(t, bin)
		})
	}
}

// deploytestRevision is the REVISION build argument of buildAsDockerfile.
const deploytestRevision = "0123456789abcdef0123456789abcdef01234567"

// buildAsDockerfile builds ./cmd/gatehouse with the Dockerfile's flags:
// CGO off, -trimpath and its -ldflags, with VERSION "deploytest".
func buildAsDockerfile(t *testing.T, df *dockerfile) string {
	t.Helper()
	m := ldflagsRE.FindStringSubmatch(strings.Join(df.stages[0].run(), "\n"))
	if m == nil {
		t.Fatal("Dockerfile: no -ldflags")
	}
	ldflags := os.Expand(m[1], func(k string) string {
		switch k {
		case "VERSION":
			return "deploytest"
		case "REVISION":
			return deploytestRevision
		case "BUILD_TIME", "COMMIT_TIME":
			return "2026-01-02T03:04:05Z"
		}
		t.Fatalf("Dockerfile -ldflags: unknown variable %s", k)
		return ""
	})
	bin := filepath.Join(t.TempDir(), "gatehouse")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, "./cmd/gatehouse")
	cmd.Dir = filepath.Join("..", "..") // the product module, as the Dockerfile builds it
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// withConfig returns args with the value of -config replaced by file.
func withConfig(args []string, file string) []string {
	out := append([]string(nil), args...)
	for i := range out[:len(out)-1] {
		if out[i] == "-config" {
			out[i+1] = file
		}
	}
	return out
}

// environ is r.env as os/exec wants it, and nothing else: no GATEHOUSE_*
// variable of the machine running the test leaks in.
func (r *rendering) environ() []string {
	var env []string
	for k, v := range r.env {
		env = append(env, k+"="+v)
	}
	return env
}

// serveAndProbe runs `gatehouse serve` with r's configuration, rewritten in
// these values only: listen and metrics_listen (free ports of 127.0.0.1
// instead of every interface), the issuer (a development provider on
// loopback) and the Redis URL (a redis-server of the test). It then probes
// as the kubelet does and expects both probes to pass, scrapes the metrics,
// and stops the process as Kubernetes does (SIGTERM), within the pod's grace
// period.
func (r *rendering) serveAndProbe(t *testing.T, bin string) {
	ctx := t.Context()
	cfg := r.cfg

	// The provider, with the manifest's client registered.
	as := httptest.NewUnstartedServer(nil)
	issuer := "http://" + as.Listener.Addr().String()
	op, err := devop.New(devop.Options{
		Issuer: issuer,
		Clients: []devop.Client{{
			ID: cfg.Provider.ClientID, Secret: cfg.Provider.ClientSecret,
			RedirectURIs: []string{strings.TrimSuffix(cfg.Server.PublicURL, "/") + "/oauth2/callback"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	as.Config.Handler = op
	as.Start()
	t.Cleanup(as.Close)

	addr := freeAddr(t)
	toml := string(r.configTOML)
	toml = replaceOnce(t, toml, fmt.Sprintf("listen = %q", cfg.Server.Listen), fmt.Sprintf("listen = %q", addr))
	toml = replaceOnce(t, toml, fmt.Sprintf("issuer = %q", cfg.Provider.Issuer), fmt.Sprintf("issuer = %q", issuer))
	metricsAddr := ""
	if cfg.Server.MetricsListen != "" {
		metricsAddr = freeAddr(t)
		toml = replaceOnce(t, toml, fmt.Sprintf("metrics_listen = %q", cfg.Server.MetricsListen), fmt.Sprintf("metrics_listen = %q", metricsAddr))
	}
	if cfg.Session.Store == config.StoreRedis {
		redistest.Require(t)
		toml = replaceOnce(t, toml, fmt.Sprintf("url = %q", cfg.Session.Redis.URL), fmt.Sprintf("url = %q", redistest.Start(t).URL))
	}
	file := filepath.Join(t.TempDir(), "gatehouse.toml")
	if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}

	var stderr bytes.Buffer
	cmd := exec.Command(bin, withConfig(r.cli, file)...)
	cmd.Env = r.environ()
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited closes when the process has ended, with waitErr set.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("gatehouse stderr:\n%s", stderr.String())
		}
	}()

	for _, path := range []string{"/healthz", "/readyz"} {
		if err := pollOK(ctx, "http://"+addr+path, exited); err != nil {
			select {
			case <-exited:
				err = fmt.Errorf("%w (gatehouse exited: %v)", err, waitErr)
			default:
			}
			t.Fatalf("GET %s: %v", path, err)
		}
	}

	if metricsAddr != "" {
		body, err := get(ctx, "http://"+metricsAddr+"/metrics")
		if err != nil || !strings.Contains(body, "# TYPE gatehouse_") {
			t.Errorf("GET /metrics on server.metrics_listen: %v; want gatehouse_ metrics, have\n%.500s", err, body)
		}
	}

	// SIGTERM: the process ends within the grace period.
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	grace := 30 * time.Second
	if g := r.deploy.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("gatehouse exited after SIGTERM: %v", waitErr)
		}
		if d := time.Since(start); d > grace {
			t.Errorf("gatehouse took %v to stop, beyond the grace period %v", d, grace)
		}
	case <-time.After(grace):
		t.Errorf("gatehouse still running %v after SIGTERM (terminationGracePeriodSeconds)", grace)
	}
}

// pollOK GETs url until it answers 200, exited closes, or 15 seconds pass.
func pollOK(ctx context.Context, url string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body))
		}
		select {
		case <-exited:
			return fmt.Errorf("process exited; last answer: %s", last)
		case <-ctx.Done():
			return fmt.Errorf("%w; last answer: %s", ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// get returns the body of a 200 answer to GET url.
func get(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s", resp.Status)
	}
	return string(body), err
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// replaceOnce replaces old, which must occur exactly once in s.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("%q occurs %d times in the configuration, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}
