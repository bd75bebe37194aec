package harness

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// hydraFront is a reverse proxy in front of Hydra's public port that counts what Hydra
// did (in the names of OP.Events) and keeps the refresh tokens it issued, so that tests
// can ask Hydra's admin API about them. It changes nothing on the way.
type hydraFront struct {
	mu      sync.Mutex
	target  *url.URL
	counts  map[string]int
	refresh []string
}

func newHydraFront() *hydraFront { return &hydraFront{counts: map[string]int{}} }

func (f *hydraFront) setTarget(public string) {
	u, _ := url.Parse(public)
	f.mu.Lock()
	f.target = u
	f.mu.Unlock()
}

func (f *hydraFront) count(name string) {
	f.mu.Lock()
	f.counts[name]++
	f.mu.Unlock()
}

func (f *hydraFront) events() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.counts)
}

func (f *hydraFront) refreshTokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.refresh...)
}

func (f *hydraFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	target := f.target
	f.mu.Unlock()
	if target == nil {
		http.Error(w, "hydra is not ready", http.StatusServiceUnavailable)
		return
	}
	// The grant type of a token request, read before the proxy sends the body on.
	var grant string
	if r.Method == http.MethodPost && r.URL.Path == "/oauth2/token" {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		grant = form.Get("grant_type")
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // Hydra builds its URLs from the issuer, not the Host
		},
		ModifyResponse: func(res *http.Response) error { return f.observe(r, grant, res) },
	}
	p.ServeHTTP(w, r)
}

// observe counts the event of a response of Hydra's.
func (f *hydraFront) observe(r *http.Request, grant string, res *http.Response) error {
	ok := res.StatusCode < 400
	switch path := r.URL.Path; {
	case path == "/oauth2/auth":
		if loc := res.Header.Get("Location"); ok && strings.Contains(loc, "code=") {
			f.count("authorization.success")
		} else if strings.Contains(loc, "error=") {
			f.count("authorization.error")
		}
	case path == "/oauth2/token":
		if !ok {
			f.count("grant.error." + grant)
			return nil
		}
		f.count("grant." + grant)
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		var tok struct {
			RefreshToken string `json:"refresh_token"`
		}
		if json.Unmarshal(body, &tok) == nil && tok.RefreshToken != "" {
			f.mu.Lock()
			f.refresh = append(f.refresh, tok.RefreshToken)
			f.mu.Unlock()
		}
	case path == "/oauth2/revoke":
		if ok {
			f.count("revocation")
		} else {
			f.count("revocation.error")
		}
	case path == "/userinfo":
		if ok {
			f.count("userinfo")
		}
	case path == "/oauth2/sessions/logout":
		// The second visit, with the verifier of the accepted logout request, completes it.
		if ok && r.URL.Query().Get("logout_verifier") != "" {
			f.count("end_session.success")
		}
	}
	return nil
}
