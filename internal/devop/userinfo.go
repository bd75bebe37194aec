package devop

import (
	"net/http"
	"strings"
)

// handleUserinfo is the UserInfo endpoint (OpenID Connect Core §5.3). The
// access token comes as a Bearer token in the Authorization header, or for
// POST in the access_token form parameter (RFC 6750 §2). The claims released
// are those of the token's scopes, after Hooks.Userinfo.
func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := bearerToken(w, r)
	if !ok {
		return
	}
	g, at, ok := s.st.lookupAccess(tok)
	if !ok {
		s.log.Info("devop: userinfo with an invalid access token")
		bearerError(w, http.StatusUnauthorized, "invalid_token", "The access token is invalid or expired.")
		return
	}
	if g.clientOnly {
		s.log.Info("devop: userinfo with a client credentials token")
		bearerError(w, http.StatusUnauthorized, "invalid_token", "The access token has no user.")
		return
	}
	claims := userClaims(g.user, at.scopes)
	if h := s.opts.Hooks.Userinfo; h != nil {
		h(claims)
	}
	s.stats.userinfo.Add(1)
	noStore(w.Header())
	writeJSON(w, http.StatusOK, claims)
}

// bearerToken extracts the access token. When it fails it has written the
// response.
func bearerToken(w http.ResponseWriter, r *http.Request) (string, bool) {
	var tok string
	hdr := r.Header.Get("Authorization")
	if hdr != "" {
		scheme, cred, _ := strings.Cut(hdr, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(cred) == "" {
			bearerError(w, http.StatusUnauthorized, "invalid_request", "Use the Bearer authentication scheme.")
			return "", false
		}
		tok = strings.TrimSpace(cred)
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			bearerError(w, http.StatusBadRequest, "invalid_request", "The request body is not a valid form.")
			return "", false
		}
		if v, ok := r.PostForm["access_token"]; ok {
			if tok != "" || len(v) != 1 {
				bearerError(w, http.StatusBadRequest, "invalid_request", "Send the access token exactly once.")
				return "", false
			}
			tok = v[0]
		}
	}
	if tok == "" {
		// RFC 6750 §3.1: no error code when no credentials were sent.
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-devop"`)
		noStore(w.Header())
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request", "error_description": "An access token is required."})
		return "", false
	}
	return tok, true
}

// bearerError writes an RFC 6750 §3 error with its WWW-Authenticate challenge.
func bearerError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-devop", error="`+code+`", error_description="`+desc+`"`)
	noStore(w.Header())
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
