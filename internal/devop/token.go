package devop

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"
)

// tokenResponse is a successful token response (RFC 6749 §5.1, OpenID
// Connect Core §3.1.3.3).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope"`
	// IssuedTokenType is set by token exchange (RFC 8693 §2.2.1).
	IssuedTokenType string `json:"issued_token_type,omitempty"`
}

// handleToken is the token endpoint. It supports the authorization_code
// grant with PKCE, the refresh_token grant, and the grants of grants.go for
// the clients registered for them.
func (s tokenEndpoint) handleToken(w http.ResponseWriter, r *http.Request) {
	form, c, ok := s.clientRequest(w, r, "token")
	if !ok {
		return
	}
	var resp *tokenResponse
	var oerr *oauthError
	switch gt := form.Get("grant_type"); gt {
	case "authorization_code":
		resp, oerr = s.exchangeCode(c, form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier"))
	case "refresh_token":
		resp, oerr = s.refreshGrant(c, form.Get("refresh_token"), form.Get("scope"), form.Has("scope"))
	case GrantClientCredentials:
		resp, oerr = s.clientCredentialsGrant(c, form)
	case GrantPassword:
		resp, oerr = s.passwordGrant(c, form)
	case GrantTokenExchange:
		resp, oerr = s.tokenExchangeGrant(c, form)
	case "":
		oerr = invalidRequest("The grant_type parameter is missing.")
	default:
		oerr = &oauthError{status: http.StatusBadRequest, code: "unsupported_grant_type", description: "Supported: authorization_code, refresh_token, client_credentials, password and token exchange."}
	}
	if oerr != nil {
		s.log.Info("devop: token request rejected", "client_id", c.ID, "grant_type", form.Get("grant_type"), "error", oerr.code, "description", oerr.description)
		if s.opts.Deviations.BareRefusals {
			noStore(w.Header())
			w.WriteHeader(oerr.status)
			return
		}
		writeOAuthError(w, oerr)
		return
	}
	noStore(w.Header())
	writeJSON(w, http.StatusOK, resp)
}

// exchangeCode redeems an authorization code (RFC 6749 §4.1.3, RFC 7636
// §4.6). Any attempt by the code's client consumes the code; a second
// attempt is a replay and revokes the tokens issued from the code
// (RFC 6749 §4.1.2).
func (s tokenEndpoint) exchangeCode(c *Client, code, redirectURI, verifier string) (*tokenResponse, *oauthError) {
	if code == "" {
		return nil, invalidRequest("The code parameter is missing.")
	}
	now := s.now()
	s.st.mu.Lock()
	s.st.maybeSweepLocked(now)
	ac, ok := s.st.codes[tokenKey(code)]
	switch {
	case !ok || !now.Before(ac.forget):
		s.st.mu.Unlock()
		return nil, invalidGrant("The authorization code is invalid or expired.")
	case ac.clientID != c.ID:
		s.st.mu.Unlock()
		return nil, invalidGrant("The authorization code was issued to another client.")
	case ac.used:
		revoked := s.st.revokeGrantLocked(ac.grantID)
		s.st.mu.Unlock()
		s.stats.codeReplays.Add(1)
		s.log.Warn("devop: authorization code replayed", "client_id", c.ID, "sid", ac.sid, "tokens_revoked", revoked)
		return nil, invalidGrant("The authorization code was already used.")
	}
	ac.used = true
	var oerr *oauthError
	switch {
	case !now.Before(ac.expires):
		oerr = invalidGrant("The authorization code is invalid or expired.")
	case redirectURI != ac.redirectURI:
		oerr = invalidGrant("The redirect_uri does not match the authorization request.")
	case ac.challenge != "" && verifier == "":
		oerr = invalidGrant("PKCE code_verifier is missing.")
	case ac.challenge != "" && !verifyPKCE(verifier, ac.challenge, ac.method):
		oerr = invalidGrant("PKCE verification failed.")
	}
	if oerr != nil {
		s.st.mu.Unlock()
		return nil, oerr
	}
	g := s.st.newGrantLocked(ac.login, c.ID, ac.scopes)
	ac.grantID = g.id
	at, _ := s.st.mintAccessLocked(g, g.scopes, now)
	var rt string
	if slices.Contains(g.scopes, "offline_access") {
		rt = s.st.mintRefreshLocked(g, now)
	}
	s.st.mu.Unlock()

	idt, err := s.idToken(g.login, idTokenParams{clientID: c.ID, scopes: g.scopes, nonce: ac.nonce, accessToken: at}, now)
	if err != nil {
		s.st.mu.Lock()
		s.st.revokeGrantLocked(g.id)
		s.st.mu.Unlock()
		s.log.Error("devop: issue id token", "err", err)
		return nil, &oauthError{status: http.StatusInternalServerError, code: "server_error", description: "The ID token could not be issued."}
	}
	s.stats.codeExchanges.Add(1)
	s.log.Info("devop: code exchanged", "client_id", c.ID, "sid", g.sid, "refresh_token", rt != "")
	return s.tokenResponse(at, rt, idt, g.scopes), nil
}

// refreshGrant issues new tokens for a refresh token (RFC 6749 §6). With
// rotation the presented token is retired, and presenting a retired token
// again revokes its whole family (RFC 9700 §4.14.2).
func (s tokenEndpoint) refreshGrant(c *Client, refresh, scope string, hasScope bool) (*tokenResponse, *oauthError) {
	if refresh == "" {
		return nil, invalidRequest("The refresh_token parameter is missing.")
	}
	now := s.now()
	s.st.mu.Lock()
	s.st.maybeSweepLocked(now)
	k := tokenKey(refresh)
	rt, ok := s.st.refresh[k]
	var g *grant
	if ok {
		g, ok = s.st.grants[rt.grantID]
	}
	switch {
	case !ok || !now.Before(rt.expires):
		s.st.mu.Unlock()
		return nil, invalidGrant("The refresh token is invalid or expired.")
	case g.clientID != c.ID:
		s.st.mu.Unlock()
		return nil, invalidGrant("The refresh token was issued to another client.")
	case rt.rotated:
		s.st.revokeGrantLocked(g.id)
		s.st.mu.Unlock()
		s.stats.refreshReuse.Add(1)
		s.log.Warn("devop: rotated refresh token reused; token family revoked", "client_id", c.ID, "sid", g.sid)
		return nil, invalidGrant("The refresh token was already used.")
	}
	scopes := g.scopes
	if hasScope {
		for _, sc := range strings.Fields(scope) {
			if !slices.Contains(g.scopes, sc) {
				s.st.mu.Unlock()
				return nil, &oauthError{status: http.StatusBadRequest, code: "invalid_scope", description: "The scope exceeds the original grant."}
			}
		}
		scopes = grantedScopes(scope)
	}
	at, _ := s.st.mintAccessLocked(g, scopes, now)
	newRT := refresh
	if s.opts.RotateRefreshTokens {
		rt.rotated = true
		newRT = s.st.mintRefreshLocked(g, now)
	}
	l := g.login
	s.st.mu.Unlock()

	var idt string
	if slices.Contains(scopes, "openid") {
		var err error
		idt, err = s.idToken(l, idTokenParams{clientID: c.ID, scopes: scopes, accessToken: at}, now)
		if err != nil {
			s.log.Error("devop: issue id token", "err", err)
			return nil, &oauthError{status: http.StatusInternalServerError, code: "server_error", description: "The ID token could not be issued."}
		}
	}
	s.stats.refreshes.Add(1)
	s.log.Info("devop: token refreshed", "client_id", c.ID, "sid", l.sid, "rotated", s.opts.RotateRefreshTokens)
	return s.tokenResponse(at, newRT, idt, scopes), nil
}

// tokenResponse assembles a successful response.
func (s tokenEndpoint) tokenResponse(at, rt, idt string, scopes []string) *tokenResponse {
	return &tokenResponse{
		AccessToken:  at,
		TokenType:    "Bearer",
		ExpiresIn:    int64((s.opts.AccessTokenTTL + time.Second - 1) / time.Second),
		RefreshToken: rt,
		IDToken:      idt,
		Scope:        strings.Join(scopes, " "),
	}
}

// verifyPKCE checks an RFC 7636 code_verifier against an S256 or plain
// challenge in constant time.
func verifyPKCE(verifier, challenge, method string) bool {
	if len(verifier) < 43 || len(verifier) > 128 || strings.Trim(verifier, base64URLChars+".~") != "" {
		return false
	}
	if method == "plain" {
		return subtle.ConstantTimeCompare([]byte(verifier), []byte(challenge)) == 1
	}
	h := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(h[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}
