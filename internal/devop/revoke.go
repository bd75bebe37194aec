package devop

import "net/http"

// handleRevoke is the revocation endpoint (RFC 7009). The client must
// authenticate. Revoking a refresh token revokes its whole grant, access
// tokens included (RFC 7009 §2.1); revoking an access token revokes only that
// token. Unknown tokens, and tokens of other clients, are answered with 200
// and left alone.
func (s logoutEndpoint) handleRevoke(w http.ResponseWriter, r *http.Request) {
	form, c, ok := s.clientRequest(w, r, "revoke")
	if !ok {
		return
	}
	tok := form.Get("token")
	if tok == "" {
		writeOAuthError(w, invalidRequest("The token parameter is missing."))
		return
	}
	kind := s.revoke(c, tok, form.Get("token_type_hint"))
	if kind != "" {
		s.stats.revocations.Add(1)
		s.log.Info("devop: token revoked", "client_id", c.ID, "token_type", kind)
	}
	noStore(w.Header())
	w.WriteHeader(http.StatusOK)
}

// revoke revokes tok if it belongs to c and returns what it was: "refresh_token",
// "access_token" or "" when nothing was revoked. The hint only orders the
// lookups.
func (s logoutEndpoint) revoke(c *Client, tok, hint string) string {
	k := tokenKey(tok)
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	tryRefresh := func() bool {
		rt, ok := s.st.refresh[k]
		if !ok {
			return false
		}
		g, ok := s.st.grants[rt.grantID]
		if !ok || g.clientID != c.ID {
			return false
		}
		return s.st.revokeGrantLocked(g.id)
	}
	tryAccess := func() bool {
		at, ok := s.st.access[k]
		if !ok {
			return false
		}
		g, ok := s.st.grants[at.grantID]
		if !ok || g.clientID != c.ID {
			return false
		}
		delete(s.st.access, k)
		delete(g.access, k)
		return true
	}
	if hint == "access_token" {
		if tryAccess() {
			return "access_token"
		}
		if tryRefresh() {
			return "refresh_token"
		}
		return ""
	}
	if tryRefresh() {
		return "refresh_token"
	}
	if tryAccess() {
		return "access_token"
	}
	return ""
}
