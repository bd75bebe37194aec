package devop

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
)

// hintClaims are the ID token hint claims the logout endpoint uses.
type hintClaims struct {
	Issuer   string   `json:"iss"`
	Audience audience `json:"aud"`
	SID      string   `json:"sid"`
}

// audience decodes an "aud" claim that is a string or an array.
type audience []string

// UnmarshalJSON implements json.Unmarshaler.
func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// handleLogout is the end-session endpoint (OpenID Connect RP-Initiated
// Logout 1.0). A valid id_token_hint (signed by this server; an expired one
// is accepted) ends the login it names: every token issued from that login
// is revoked. A post_logout_redirect_uri must be registered, exactly, for the
// client named by the hint's audience or by client_id; the user is then
// redirected there with state, otherwise shown a logged-out page. An invalid
// request shows an error page and never redirects.
func (s logoutEndpoint) handleLogout(w http.ResponseWriter, r *http.Request) {
	var q url.Values
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			showMessage(s.log, w, http.StatusBadRequest, "Logout failed", "The logout request could not be read.")
			return
		}
		q = r.PostForm
	} else {
		q = r.URL.Query()
	}
	for k, v := range q {
		if len(v) > 1 {
			showMessage(s.log, w, http.StatusBadRequest, "Logout failed", "The "+k+" parameter is repeated.")
			return
		}
	}

	clientID := q.Get("client_id")
	var sid string
	if hint := q.Get("id_token_hint"); hint != "" {
		var hc hintClaims
		if err := s.keys.verify(hint, &hc); err != nil || hc.Issuer != s.issuer || len(hc.Audience) != 1 {
			s.log.Info("devop: logout with an invalid id_token_hint")
			showMessage(s.log, w, http.StatusBadRequest, "Logout failed", "The id_token_hint is invalid.")
			return
		}
		if clientID != "" && clientID != hc.Audience[0] {
			showMessage(s.log, w, http.StatusBadRequest, "Logout failed", "The client_id does not match the id_token_hint.")
			return
		}
		clientID, sid = hc.Audience[0], hc.SID
	}

	target := q.Get("post_logout_redirect_uri")
	if target != "" {
		c, ok := s.clients[clientID]
		if !ok || !slices.Contains(c.PostLogoutRedirectURIs, target) {
			s.log.Info("devop: logout with an unregistered post_logout_redirect_uri", "client_id", clientID)
			showMessage(s.log, w, http.StatusBadRequest, "Logout failed", "The post_logout_redirect_uri is not registered for this client.")
			return
		}
	}

	if sid != "" {
		n := s.endLogin(sid)
		s.stats.logouts.Add(1)
		s.log.Info("devop: logout", "client_id", clientID, "sid", sid, "grants_revoked", n)
	}

	if target == "" {
		showMessage(s.log, w, http.StatusOK, "You are logged out", "You are logged out of the Gatehouse development provider. You can close this window.")
		return
	}
	u, err := url.Parse(target)
	if err != nil { // registered URIs were validated by New
		showMessage(s.log, w, http.StatusInternalServerError, "Logout failed", "The post_logout_redirect_uri is invalid.")
		return
	}
	if st := q.Get("state"); st != "" {
		uq := u.Query()
		uq.Set("state", st)
		u.RawQuery = uq.Encode()
	}
	noStore(w.Header())
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// endLogin revokes every grant and unused code of the login with the given
// session ID and returns how many grants there were.
func (s logoutEndpoint) endLogin(sid string) int {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	for k, c := range s.st.codes {
		if c.sid == sid && !c.used {
			delete(s.st.codes, k)
		}
	}
	n := 0
	for id, g := range s.st.grants {
		if g.sid == sid {
			s.st.revokeGrantLocked(id)
			n++
		}
	}
	return n
}
