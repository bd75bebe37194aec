package proxy_test

import (
	"net/http"
	"testing"

	"github.com/gatehouse-dev/gatehouse/proxy"
)

// TestJWKSPathOnlyWithSigningKeys: /.well-known/jwks.json is the gateway's
// own endpoint only when identity assertions are signed (server.signing_keys,
// README's endpoint table); without them the path belongs to the upstreams
// like any other.
func TestJWKSPathOnlyWithSigningKeys(t *testing.T) {
	e := newEnv(t, envOptions{routes: []proxy.Route{{Name: "app", PathPrefix: "/", Auth: proxy.AuthPublic}}})
	resp := e.get(e.browser(), e.gwURL+proxy.JWKSPath)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s without signing keys: %d, want the upstream's 200", proxy.JWKSPath, resp.StatusCode)
	}
	if n := e.upstream.count(); n != 1 {
		t.Errorf("the upstream saw %d requests, want the one for %s", n, proxy.JWKSPath)
	}
}
