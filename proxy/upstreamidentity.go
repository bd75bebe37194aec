package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/assertion"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// Values of Route.PassIDToken.
const (
	// PassIDTokenHeader sends the ID token in X-Forwarded-Id-Token.
	PassIDTokenHeader = vocab.PassIDTokenHeader
	// PassIDTokenAuthorization sends it as "Authorization: Bearer <ID
	// token>" (the Kubernetes Dashboard, and oauth2-proxy's
	// pass_authorization_header).
	PassIDTokenAuthorization = vocab.PassIDTokenAuthorization
)

// JWKSPath is where the gateway publishes the public keys of its identity
// assertions, when it has any.
const JWKSPath = "/.well-known/jwks.json"

// checkAssertionRoutes checks that the routes that send an identity
// assertion have a signer, and that PassIDToken has a known value.
func checkAssertionRoutes(routes []*route, signer *assertion.Signer) error {
	var errs []error
	for _, rt := range routes {
		if rt.AssertionHeader != "" && signer == nil {
			errs = append(errs, fmt.Errorf("proxy: route %s sends an identity assertion, but Options.Assertions is nil", rt.Name))
		}
		switch rt.PassIDToken {
		case "", PassIDTokenHeader, PassIDTokenAuthorization:
		default:
			errs = append(errs, fmt.Errorf("proxy: route %s: PassIDToken %q is not %q or %q", rt.Name, rt.PassIDToken, PassIDTokenHeader, PassIDTokenAuthorization))
		}
	}
	return errors.Join(errs...)
}

// assertionHeaders returns the distinct assertion headers of routes.
func assertionHeaders(routes []*route) []string {
	var out []string
	for _, rt := range routes {
		if h := rt.AssertionHeader; h != "" && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, h) }) {
			out = append(out, h)
		}
	}
	return out
}

// setUpstreamIdentity sets what a route adds to the identity headers: the
// prefix it stripped, the ID token and the signed identity assertion. The
// client's own copies of these headers are removed first, whether or not
// the gateway sets them on this route: every route's assertion header is
// removed on every route. (X-Forwarded-Id-Token is an identity header,
// gone already: identity.StripHeaders.)
func (rl *relay) setUpstreamIdentity(pr *httputil.ProxyRequest, pol *route, fwd *forward, trusted bool) {
	out := pr.Out.Header
	if pol.StripPrefix {
		// Where the application is mounted, as Traefik's StripPrefix says it:
		// a trusted proxy's own prefix first.
		prefix := strings.TrimSuffix(pol.PathPrefix, "/")
		if v := pr.In.Header.Get(headerForwardedPrefix); trusted && v != "" {
			prefix = strings.TrimSuffix(v, "/") + prefix
		}
		if prefix != "" {
			out.Set(headerForwardedPrefix, prefix)
		}
	}
	for _, h := range rl.assertionHeaders { // every route's, so that none can be replayed through another route
		deleteHeaderFold(out, h)
	}
	if pol.PassIDToken == PassIDTokenAuthorization {
		out.Del("Authorization") // the client's, not the user's ID token
	}
	if fwd == nil {
		return
	}
	if fwd.idToken != "" {
		switch pol.PassIDToken {
		case PassIDTokenHeader:
			out.Set(identity.HeaderIDToken, fwd.idToken)
		case PassIDTokenAuthorization:
			out.Set("Authorization", "Bearer "+fwd.idToken)
		}
	}
	if pol.AssertionHeader != "" {
		tok, err := fwd.assertions.get(rl.assertions, pol.AssertionAudience, fwd.id, rl.now())
		if err != nil { // cannot happen with a loaded key; the upstream then gets none
			rl.logger.Error("identity assertion not signed", "route", pol.Name, "error", err)
			return
		}
		out.Set(pol.AssertionHeader, tok)
	}
}

// deleteHeaderFold deletes every header whose name is name, compared ASCII
// case-insensitively with "_" equal to "-" (as CGI and WSGI fold them).
func deleteHeaderFold(h http.Header, name string) {
	for k := range h {
		if len(k) == len(name) && strings.EqualFold(strings.ReplaceAll(k, "_", "-"), name) {
			delete(h, k)
		}
	}
}

// assertionCache holds the assertions signed for one identity (one cached
// session version), one per audience, each sent again for up to
// assertion.ReuseFor: most requests then cost no signature.
type assertionCache struct {
	mu      sync.Mutex
	entries []cachedAssertion // few: one per upstream with an assertion
}

type cachedAssertion struct {
	aud    string
	token  string
	signed time.Time
}

func (c *assertionCache) get(s *assertion.Signer, aud string, id identity.Identity, now time.Time) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := 0
	for ; i < len(c.entries); i++ {
		if e := c.entries[i]; e.aud == aud {
			if age := now.Sub(e.signed); age >= 0 && age < assertion.ReuseFor {
				return e.token, nil
			}
			break
		}
	}
	tok, err := s.Sign(assertion.Claims{
		Audience: aud, Subject: id.Subject, Email: id.Email, EmailVerified: id.EmailVerified,
		PreferredUsername: id.PreferredUsername, Groups: id.Groups,
	}, now)
	if err != nil {
		return "", err
	}
	e := cachedAssertion{aud: aud, token: tok, signed: now}
	if i < len(c.entries) {
		c.entries[i] = e
	} else {
		c.entries = append(c.entries, e)
	}
	return tok, nil
}
