package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// spelling is one line of the hostile-request corpus.
type spelling struct {
	host, target         string
	canonHost, canonPath string
}

// readSpellings reads internal/canon/testdata/hostile-requests.txt, with
// {port} replaced by port.
func readSpellings(t *testing.T, port int) []spelling {
	t.Helper()
	b, err := os.ReadFile("../internal/canon/testdata/hostile-requests.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []spelling
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.ReplaceAll(line, "{port}", fmt.Sprint(port))
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("corpus line %q: want 3 tab-separated columns", line)
		}
		canon := strings.Fields(f[2])
		out = append(out, spelling{host: f[0], target: f[1], canonHost: canon[0], canonPath: canon[1]})
	}
	return out
}

// TestE2ENginxRequestSpellings is the differential test of the security
// audit's findings 1 and 2: every spelling of the corpus goes through real
// nginx running the documented auth_request snippet, and straight to the
// gateway (which then proxies), anonymously. Neither way may reach the
// application when the canonical request it means may not be reached, no
// answer is a 5xx, and both ways decide alike.
func TestE2ENginxRequestSpellings(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	harness.Require(t, "node")
	nginxPort, gwPort := harness.FreePort(t), harness.FreePort(t)
	public := fmt.Sprintf("http://www.gatehouse.localhost:%d", nginxPort)
	op := startFrontProxyOP(t, public, alice, bob)
	app := startUpstream(t)
	gw := startGateway(t, gwConfig{
		Port: gwPort, PublicURL: public, Issuer: op.Issuer, ClientID: gwClientID, ClientSecret: gwClientSecret,
		UpstreamURL: app.URL,
		ServerExtra: `trusted_proxies = ["127.0.0.1"]`,
		Extra:       hostileRoutes(app.URL),
	})
	harness.StartNginx(t, nginxPort, nginxHTTP, fmt.Sprintf(nginxServer, gwPort, app.URL))
	gwAddr, nginxAddr := strings.TrimPrefix(gw.URL, "http://"), fmt.Sprintf("127.0.0.1:%d", nginxPort)

	p := newSpellingProbe(t, app, gwAddr)
	var mismatches []string
	for _, s := range readSpellings(t, nginxPort) {
		key, allowed := p.allowed(s)
		ns, nReached := p.send(nginxAddr, s.host, s.target)
		ds, dReached := p.send(gwAddr, s.host, s.target)
		t.Logf("%-40s %-45s nginx %d%s  gateway %d%s  canonical %s allowed=%v", s.host, s.target,
			ns, reachedMark(nReached), ds, reachedMark(dReached), key, allowed)
		if ns >= 500 || ds >= 500 {
			t.Errorf("Host %s, %s: a 5xx answer (nginx %d, gateway %d)", s.host, s.target, ns, ds)
		}
		if (nReached || dReached) && !allowed {
			t.Errorf("Host %s, %s reached the application (through nginx: %v, directly: %v), but %s may not be reached anonymously",
				s.host, s.target, nReached, dReached, key)
		}
		// Both ways decide alike, but where one of them refused to parse the
		// request (nginx's 400) or sent the client to the cleaned path first
		// (net/http's 307/308 for "//x" and "/./x"): those decide nothing.
		if nReached != dReached && ns != http.StatusBadRequest && ds != http.StatusTemporaryRedirect && ds != http.StatusPermanentRedirect {
			mismatches = append(mismatches, fmt.Sprintf("Host %s, %s: through nginx %d (reached %v), directly %d (reached %v)", s.host, s.target, ns, nReached, ds, dReached))
		}
	}
	for _, m := range mismatches {
		t.Errorf("nginx and the gateway decide differently: %s", m)
	}
	if len(p.canon) < 4 {
		t.Fatalf("the corpus has only %d canonical requests", len(p.canon))
	}
}

func reachedMark(b bool) string {
	if b {
		return "*"
	}
	return " "
}

// rawStatus sends req over a new connection to addr and returns the status.
func rawStatus(t *testing.T, addr, req string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", req, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
