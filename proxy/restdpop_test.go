package proxy_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/login"
)

// TestRESTDPoPBoundSession: an app that sends a DPoP proof when it starts a
// flow gets a session token bound to its key. The token is then accepted
// only in the DPoP scheme with a fresh proof by that key for the request:
// not alone, not with a proof replayed on another replica, not with a
// proof by another key, not for another URL or method, not with a stale
// iat. The upstream never sees the token or the proof.
func TestRESTDPoPBoundSession(t *testing.T) {
	e := newRESTEnv(t, envOptions{})
	a := e.app()
	key, err := login.NewDPoPKey()
	if err != nil {
		t.Fatal(err)
	}
	proof := func(k *login.DPoPKey, method, path, token string, at time.Time) string {
		t.Helper()
		p, err := k.Proof(method, e.gwURL+path, token, "", at)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	startPath := restBase + "/applications/app/access/"

	t.Run("invalid proof at the start", func(t *testing.T) {
		resp, d := a.call(http.MethodPost, startPath, "", "", "DPoP", proof(key, http.MethodPost, "/elsewhere", "", time.Now()))
		if resp.StatusCode != http.StatusBadRequest || d.code() != "INVALID_DPOP_PROOF" {
			t.Errorf("start with a proof for another URL: %d %+v", resp.StatusCode, d)
		}
	})

	resp, d := a.call(http.MethodPost, startPath, "", "", "DPoP", proof(key, http.MethodPost, startPath, "", time.Now()))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("start: %d %+v", resp.StatusCode, d)
	}
	handle := resp.Header.Get("Access-Token")
	resp, d = a.respond(handle, urlBody(a.authorize(d, "alice", "login")))
	token := resp.Header.Get("Access-Token")
	if resp.StatusCode != http.StatusOK || token == "" {
		t.Fatalf("authorization response: %d %+v", resp.StatusCode, d)
	}

	sessionPath := "/auth/rest/protected/session/"
	good := proof(key, http.MethodGet, sessionPath, token, time.Now())
	if resp, d := a.call(http.MethodGet, sessionPath, "", "", "Authorization", "DPoP "+token, "DPoP", good); resp.StatusCode != http.StatusOK {
		t.Fatalf("session with a proof: %d %+v", resp.StatusCode, d)
	}
	other, _ := login.NewDPoPKey()
	replica := e.replica(nil)
	refused := []struct {
		name string
		base string
		hdr  []string
	}{
		{"bearer, no proof", e.gwURL, []string{"Authorization", "Bearer " + token}},
		{"DPoP scheme, no proof", e.gwURL, []string{"Authorization", "DPoP " + token}},
		{"replayed on the other replica", replica, []string{"Authorization", "DPoP " + token, "DPoP", good}},
		{"another key", e.gwURL, []string{"Authorization", "DPoP " + token, "DPoP", proof(other, http.MethodGet, sessionPath, token, time.Now())}},
		{"another method", e.gwURL, []string{"Authorization", "DPoP " + token, "DPoP", proof(key, http.MethodPost, sessionPath, token, time.Now())}},
		{"another URL", e.gwURL, []string{"Authorization", "DPoP " + token, "DPoP", proof(key, http.MethodGet, "/api/things", token, time.Now())}},
		{"stale iat", e.gwURL, []string{"Authorization", "DPoP " + token, "DPoP", proof(key, http.MethodGet, sessionPath, token, time.Now().Add(-5*time.Minute))}},
		{"no ath", e.gwURL, []string{"Authorization", "DPoP " + token, "DPoP", proof(key, http.MethodGet, sessionPath, "", time.Now())}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			b := &app{t: t, e: e, base: tt.base, c: a.c}
			resp, d := b.call(http.MethodGet, sessionPath, "", "", tt.hdr...)
			if resp.StatusCode != http.StatusUnauthorized || d.code() != "INVALID_DPOP_PROOF" || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "DPoP ") {
				t.Errorf("%d %+v %q, want 401 INVALID_DPOP_PROOF with a DPoP challenge", resp.StatusCode, d, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}

	t.Run("protected route", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, e.gwURL+"/api/things", nil)
		req.Header.Set("Authorization", "DPoP "+token)
		req.Header.Set("DPoP", proof(key, http.MethodGet, "/api/things", token, time.Now()))
		req.Header.Set("Accept", "application/json")
		resp, err := a.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("protected route with a proof: %d", resp.StatusCode)
		}
		up := e.upstream.last()
		if up.Header.Get("Authorization") != "" || up.Header.Get("DPoP") != "" || up.Header.Get("X-Forwarded-User") == "" {
			t.Errorf("upstream headers: Authorization %q DPoP %q user %q", up.Header.Get("Authorization"), up.Header.Get("DPoP"), up.Header.Get("X-Forwarded-User"))
		}
		req.Header.Set("DPoP", proof(other, http.MethodGet, "/api/things", token, time.Now()))
		resp, err = a.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("protected route with another key's proof: %d", resp.StatusCode)
		}
	})

	t.Run("an unbound session is unaffected", func(t *testing.T) {
		tok := e.app().login("alice")
		if resp, d := a.call(http.MethodGet, sessionPath, tok, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("unbound session as bearer: %d %+v", resp.StatusCode, d)
		}
	})
}
