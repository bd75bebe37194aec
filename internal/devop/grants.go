package devop

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// tokenTypeAccessToken identifies an access token in a token exchange
// (RFC 8693 §3).
const tokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"

func unauthorizedClient(grant string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "unauthorized_client", description: "This client may not use the " + grant + " grant."}
}

// targets returns the token's audience: the RFC 8707 resource indicators
// (absolute URIs without a fragment, else invalid_target) and the RFC 8693
// audience values, in request order.
func targets(form url.Values) ([]string, *oauthError) {
	var out []string
	for _, r := range form["resource"] {
		u, err := url.Parse(r)
		if err != nil || !u.IsAbs() || strings.Contains(r, "#") {
			return nil, &oauthError{status: http.StatusBadRequest, code: "invalid_target", description: "A resource must be an absolute URI without a fragment."}
		}
		out = append(out, r)
	}
	for _, a := range form["audience"] {
		if a == "" {
			return nil, invalidRequest("An audience must not be empty.")
		}
		out = append(out, a)
	}
	return out, nil
}

// apiScopes returns the requested scopes of a token for an API: any scope
// values, except the OpenID Connect ones, which need a user.
func apiScopes(requested string) []string {
	var out []string
	for _, sc := range strings.Fields(requested) {
		if sc != "openid" && sc != "offline_access" && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// clientCredentialsGrant issues the client a token for itself (RFC 6749
// §4.4): any requested scope but the OpenID Connect ones, the requested
// resources and audiences, no refresh token.
func (s tokenEndpoint) clientCredentialsGrant(c *Client, form url.Values) (*tokenResponse, *oauthError) {
	if !slices.Contains(c.GrantTypes, GrantClientCredentials) {
		return nil, unauthorizedClient(GrantClientCredentials)
	}
	aud, oerr := targets(form)
	if oerr != nil {
		return nil, oerr
	}
	scopes := apiScopes(form.Get("scope"))
	now := s.now()
	s.st.mu.Lock()
	s.st.maybeSweepLocked(now)
	g := s.st.newGrantLocked(login{user: User{Username: c.ID, Subject: c.ID}, authTime: now}, c.ID, scopes)
	g.grantType, g.clientOnly = GrantClientCredentials, true
	at, _ := s.st.mintAccessForLocked(g, scopes, aud, now)
	s.st.mu.Unlock()
	s.stats.clientCredentials.Add(1)
	s.log.Info("devop: client credentials grant", "client_id", c.ID, "audience", aud)
	return s.tokenResponse(at, "", "", scopes), nil
}

// passwordGrant exchanges a user's name and password for tokens (RFC 6749
// §4.3), as a login would: an ID token with openid, a refresh token with
// offline_access.
func (s tokenEndpoint) passwordGrant(c *Client, form url.Values) (*tokenResponse, *oauthError) {
	if !slices.Contains(c.GrantTypes, GrantPassword) {
		return nil, unauthorizedClient(GrantPassword)
	}
	username := form.Get("username")
	if username == "" || !form.Has("password") {
		return nil, invalidRequest("The username and password parameters are required.")
	}
	u, ok := s.authenticate(username, form.Get("password"))
	if !ok {
		s.stats.passwordFailures.Add(1)
		s.log.Info("devop: password grant refused", "client_id", c.ID, "username", username)
		return nil, invalidGrant("The user name or password is wrong.")
	}
	scopes := grantedScopes(form.Get("scope"))
	now := s.now()
	s.st.mu.Lock()
	s.st.maybeSweepLocked(now)
	g := s.st.newGrantLocked(login{user: u, sid: rand.Text(), authTime: now}, c.ID, scopes)
	g.grantType = GrantPassword
	at, _ := s.st.mintAccessLocked(g, scopes, now)
	var rt string
	if slices.Contains(scopes, "offline_access") {
		rt = s.st.mintRefreshLocked(g, now)
	}
	s.st.mu.Unlock()
	var idt string
	if slices.Contains(scopes, "openid") {
		var err error
		if idt, err = s.idToken(g.login, idTokenParams{clientID: c.ID, scopes: scopes, accessToken: at}, now); err != nil {
			s.log.Error("devop: issue id token", "err", err)
			return nil, &oauthError{status: http.StatusInternalServerError, code: "server_error", description: "The ID token could not be issued."}
		}
	}
	s.stats.passwordGrants.Add(1)
	s.log.Info("devop: password grant", "client_id", c.ID, "username", u.Username, "sid", g.sid)
	return s.tokenResponse(at, rt, idt, scopes), nil
}

// tokenExchangeGrant exchanges a live access token of this server for one
// with the requested audience (RFC 8693 §2): same user, the requested scopes
// (which the subject token must have) or the subject token's, no refresh
// token. Only access tokens are exchanged and issued; actor tokens
// (delegation) are not supported.
func (s tokenEndpoint) tokenExchangeGrant(c *Client, form url.Values) (*tokenResponse, *oauthError) {
	if !slices.Contains(c.GrantTypes, GrantTokenExchange) {
		return nil, unauthorizedClient("token exchange")
	}
	switch {
	case form.Get("subject_token") == "":
		return nil, invalidRequest("The subject_token parameter is missing.")
	case form.Get("subject_token_type") != tokenTypeAccessToken:
		return nil, invalidRequest("Only access tokens (subject_token_type " + tokenTypeAccessToken + ") can be exchanged.")
	case form.Has("requested_token_type") && form.Get("requested_token_type") != tokenTypeAccessToken:
		return nil, invalidRequest("Only access tokens can be issued.")
	case form.Has("actor_token"):
		return nil, invalidRequest("Delegation (actor_token) is not supported.")
	}
	aud, oerr := targets(form)
	if oerr != nil {
		return nil, oerr
	}
	g0, at0, ok := s.st.lookupAccess(form.Get("subject_token"))
	if !ok {
		return nil, invalidRequest("The subject_token is invalid or expired.")
	}
	scopes := at0.scopes
	if form.Has("scope") {
		scopes = nil
		for _, sc := range strings.Fields(form.Get("scope")) {
			if !slices.Contains(at0.scopes, sc) {
				return nil, &oauthError{status: http.StatusBadRequest, code: "invalid_scope", description: "The scope exceeds the subject token's."}
			}
			scopes = append(scopes, sc)
		}
	}
	now := s.now()
	s.st.mu.Lock()
	s.st.maybeSweepLocked(now)
	g := s.st.newGrantLocked(g0.login, c.ID, scopes)
	g.grantType, g.clientOnly = GrantTokenExchange, g0.clientOnly
	at, _ := s.st.mintAccessForLocked(g, scopes, aud, now)
	s.st.mu.Unlock()
	s.stats.tokenExchanges.Add(1)
	s.log.Info("devop: token exchanged", "client_id", c.ID, "sid", g.sid, "audience", aud)
	resp := s.tokenResponse(at, "", "", scopes)
	resp.IssuedTokenType = tokenTypeAccessToken
	return resp, nil
}

// TokenInfo describes a live access token (for tests: the server's tokens
// are opaque).
type TokenInfo struct {
	// ClientID is the client the token was issued to.
	ClientID string
	// Subject is the user's sub, or for a client credentials token the
	// client ID; Username is "" then.
	Subject  string
	Username string
	Scopes   []string
	// Audience lists the resources and audiences the token is for.
	Audience []string
	// GrantType is how the token family began: "authorization_code",
	// GrantClientCredentials, GrantPassword or GrantTokenExchange.
	GrantType string
	Expiry    time.Time
}

// TokenInfo returns what the server knows of a live access token.
func (s *Server) TokenInfo(token string) (TokenInfo, bool) {
	g, at, ok := s.st.lookupAccess(token)
	if !ok {
		return TokenInfo{}, false
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	info := TokenInfo{
		ClientID:  g.clientID,
		Subject:   g.user.Subject,
		Username:  g.user.Username,
		Scopes:    slices.Clone(at.scopes),
		Audience:  slices.Clone(at.audience),
		GrantType: g.grantType,
		Expiry:    at.expires,
	}
	if g.clientOnly {
		info.Username = ""
	}
	if info.GrantType == "" {
		info.GrantType = "authorization_code"
	}
	return info, true
}
