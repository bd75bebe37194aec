package proxy_test

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/devop"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
)

// These tests run the gateway against the development AS switched to
// behave like real authorization servers that deviate from the
// specifications (issue #20).

// TestRefreshRefusedWithoutBodyEndsSession: an AS that refuses a refresh
// with HTTP 400 and an empty body ends the session like invalid_grant: API
// clients get 401 and browsers are sent to sign in, never an endless 502.
func TestRefreshRefusedWithoutBodyEndsSession(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, envOptions{now: clock.Now, deviations: devop.Deviations{BareRefusals: true}})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	cookie := e.sessionCookie(c)
	e.as.RevokeAll()
	clock.Advance(devop.DefaultAccessTokenTTL + time.Second)
	if code := apiGet(t, e.gwURL+"/x", cookie); code != http.StatusUnauthorized {
		t.Errorf("API request after a bare refusal: %d, want 401", code)
	}
	resp := e.get(c, e.gwURL+"/page")
	if resp.StatusCode != http.StatusFound {
		t.Errorf("browser request after a bare refusal: %d, want 302 to sign in", resp.StatusCode)
	}
	refreshes := e.as.Stats().Refreshes
	if code := apiGet(t, e.gwURL+"/x", cookie); code != http.StatusUnauthorized || e.as.Stats().Refreshes != refreshes {
		t.Errorf("the session was kept: %d", code)
	}
}

// TestRefreshTransientFailure: while the AS's token endpoint is down, the
// session is kept; requests are served while the access token is valid,
// then answered 503 with Retry-After (JSON for API clients, a page for
// browsers) until the AS is back.
func TestRefreshTransientFailure(t *testing.T) {
	clock := newFakeClock()
	var outage atomic.Bool
	e := newEnv(t, envOptions{now: clock.Now, asOutage: &outage})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	cookie := e.sessionCookie(c)
	outage.Store(true)

	clock.Advance(devop.DefaultAccessTokenTTL - 30*time.Second) // within the refresh window, still valid
	if code := apiGet(t, e.gwURL+"/x", cookie); code != http.StatusOK {
		t.Errorf("with a valid access token and the AS down: %d, want 200", code)
	}
	clock.Advance(time.Minute) // expired
	for _, accept := range []string{"application/json", "text/html"} {
		req, _ := http.NewRequest(http.MethodGet, e.gwURL+"/x", nil)
		req.Header.Set("Accept", accept)
		req.Header.Set("Cookie", cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := bodyOf(resp)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("Accept %s, expired token, AS down: %d Retry-After %q, want 503 with Retry-After", accept, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if !strings.Contains(body, "provider_unavailable") || !strings.Contains(resp.Header.Get("Content-Type"), strings.TrimPrefix(accept, "text/")) {
			t.Errorf("Accept %s: Content-Type %q body %s", accept, resp.Header.Get("Content-Type"), body)
		}
	}
	outage.Store(false)
	if code := apiGet(t, e.gwURL+"/x", cookie); code != http.StatusOK {
		t.Errorf("the AS is back: %d, want 200 (session kept)", code)
	}
}

// TestLogoutTokenWithoutExp: a logout token without exp is refused and the
// log says that exp is missing, not that the token expired in year 1.
func TestLogoutTokenWithoutExp(t *testing.T) {
	logs := &logBuffer{}
	e := newEnv(t, envOptions{logger: logs.logger(), deviations: devop.Deviations{LogoutTokenWithoutExp: true}})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	claims := e.as.LogoutTokenClaims(testClientID, "user-alice", "")
	if _, ok := claims["exp"]; ok {
		t.Fatal("the AS put exp in the logout token")
	}
	if code := e.postLogoutToken(t, e.gwURL, e.sign(t, claims)); code != http.StatusBadRequest {
		t.Errorf("logout token without exp: %d, want 400", code)
	}
	rejected := logs.events("logout_rejected")
	if len(rejected) != 1 {
		t.Fatalf("%d logout_rejected events, want 1", len(rejected))
	}
	msg, _ := rejected[0]["error"].(string)
	if !strings.Contains(msg, "exp is missing") || strings.Contains(msg, "expired") {
		t.Errorf("logged error %q, want one that says exp is missing", msg)
	}
	if code := apiGet(t, e.gwURL+"/", e.sessionCookie(c)); code != http.StatusOK {
		t.Errorf("the session ended: %d", code)
	}
}

// TestInsecureLogoutTokenWithoutExp: with the provider's switch, a logout
// token without exp ends the session while its iat is fresh, and is
// refused once its iat is older than login.LogoutTokenMaxAge.
func TestInsecureLogoutTokenWithoutExp(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, envOptions{now: clock.Now, logoutWithoutExp: true, deviations: devop.Deviations{LogoutTokenWithoutExp: true}})
	stale, fresh := e.browser(), e.browser()
	e.loginAs(stale, "/", "alice")
	old := e.as.LogoutTokenClaims(testClientID, "user-alice", "")
	clock.Advance(login.LogoutTokenMaxAge + time.Second)
	if code := e.postLogoutToken(t, e.gwURL, e.sign(t, old)); code != http.StatusBadRequest {
		t.Errorf("logout token without exp, iat too old: %d, want 400", code)
	}
	if code := apiGet(t, e.gwURL+"/", e.sessionCookie(stale)); code != http.StatusOK {
		t.Errorf("a stale token ended the session: %d", code)
	}
	e.loginAs(fresh, "/", "alice")
	if code := e.postLogoutToken(t, e.gwURL, e.sign(t, e.as.LogoutTokenClaims(testClientID, "user-alice", ""))); code != http.StatusOK {
		t.Errorf("logout token without exp, fresh iat: %d, want 200", code)
	}
	if code := apiGet(t, e.gwURL+"/", e.sessionCookie(fresh)); code != http.StatusUnauthorized {
		t.Errorf("after the logout token the session answers %d, want 401", code)
	}
}

// TestFrontchannelLogoutWithoutSID: a front-channel logout without iss and
// sid ends the browser's session, writes a logout event and counts it in
// gatehouse_logouts_total{kind="frontchannel"}.
func TestFrontchannelLogoutWithoutSID(t *testing.T) {
	logs := &logBuffer{}
	m := metrics.New()
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	e := newEnv(t, envOptions{logger: logger, events: m, deviations: devop.Deviations{FrontchannelWithoutSID: true}})
	c := e.browser()
	e.loginAs(c, "/", "alice")
	cookie := e.sessionCookie(c)
	target := e.as.FrontchannelLogoutURL(testClientID, "op-session-3")
	if strings.Contains(target, "sid=") || target == "" {
		t.Fatalf("front-channel logout URL %q, want one without sid", target)
	}
	if resp := e.get(c, target); resp.StatusCode != http.StatusOK {
		t.Fatalf("front-channel logout: %d", resp.StatusCode)
	}
	if code := apiGet(t, e.gwURL+"/", cookie); code != http.StatusUnauthorized {
		t.Errorf("after front-channel logout: %d, want 401", code)
	}
	ev := logs.events("logout")
	if len(ev) != 1 || ev[0]["kind"] != "frontchannel" || ev[0]["sessions"] != float64(1) {
		t.Errorf("logout events %v, want one frontchannel logout of 1 session", ev)
	}
	if n := logoutsCounted(t, m, "frontchannel"); n != 1 {
		t.Errorf("gatehouse_logouts_total{kind=frontchannel} = %v, want 1", n)
	}
}

func logoutsCounted(t *testing.T, m *metrics.Metrics, kind string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gatehouse_logouts_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return mt.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestDeviatingASesWork: logins, refreshes and back-channel logouts work
// against an AS that writes aud as an array, sends no RFC 9207 iss, rotates
// no refresh tokens, or has an issuer with a path.
func TestDeviatingASesWork(t *testing.T) {
	tests := []struct {
		name string
		opts envOptions
	}{
		{"AudienceArray", envOptions{deviations: devop.Deviations{AudienceArray: true}}},
		{"NoIssParameter", envOptions{deviations: devop.Deviations{NoIssParameter: true}}},
		{"NoRefreshTokenRotation", envOptions{noRotation: true}},
		{"IssuerWithPath", envOptions{issuerPath: "/realms/main"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			tc.opts.now = clock.Now
			var sawIss atomic.Bool
			tc.opts.hooks.AuthResponse = func(q url.Values) { sawIss.Store(q.Has("iss")) }
			e := newEnv(t, tc.opts)
			c := e.browser()
			if resp := e.loginAs(c, "/", "alice"); resp.StatusCode != http.StatusOK {
				t.Fatalf("after login: %d", resp.StatusCode)
			}
			if sawIss.Load() == tc.opts.deviations.NoIssParameter {
				t.Errorf("the authorization response has iss: %v", sawIss.Load())
			}
			cookie := e.sessionCookie(c)
			for i := range 2 { // two refreshes: with rotation off, the same refresh token twice
				clock.Advance(devop.DefaultAccessTokenTTL + time.Second)
				if code := apiGet(t, e.gwURL+"/x", cookie); code != http.StatusOK {
					t.Fatalf("after refresh %d: %d", i+1, code)
				}
			}
			if n := e.as.Stats().Refreshes; n != 2 {
				t.Errorf("the AS saw %d refreshes, want 2", n)
			}
			if code := e.postLogoutToken(t, e.gwURL, e.sign(t, e.as.LogoutTokenClaims(testClientID, "user-alice", ""))); code != http.StatusOK {
				t.Fatalf("back-channel logout: %d", code)
			}
			if code := apiGet(t, e.gwURL+"/x", cookie); code != http.StatusUnauthorized {
				t.Errorf("after back-channel logout: %d, want 401", code)
			}
		})
	}
}
