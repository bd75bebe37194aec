package devop

import (
	"net/http"
	"net/url"
)

// oauthError is an error response of the token or revocation endpoint
// (RFC 6749 §5.2).
type oauthError struct {
	status      int
	code        string
	description string
}

// Error implements error.
func (e *oauthError) Error() string { return e.code + ": " + e.description }

func invalidRequest(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_request", description: desc}
}

func invalidGrant(desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: "invalid_grant", description: desc}
}

func invalidClient(desc string) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client", description: desc}
}

// writeOAuthError writes e as JSON. A 401 carries a WWW-Authenticate
// challenge for HTTP Basic client authentication.
func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	noStore(w.Header())
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse-devop", charset="UTF-8"`)
	}
	body := map[string]string{"error": e.code}
	if e.description != "" {
		body["error_description"] = e.description
	}
	writeJSON(w, e.status, body)
}

// parsePostForm reads a form-encoded body (only the body, never the URL
// query) and rejects repeated parameters (RFC 6749 §3.2), except those that
// may repeat: resource (RFC 8707 §2) and audience (RFC 8693 §2.1).
func parsePostForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return nil, invalidRequest("The request body is not a valid form.")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 && k != "resource" && k != "audience" {
			return nil, invalidRequest("The " + k + " parameter is repeated.")
		}
	}
	return r.PostForm, nil
}

// authenticateClient authenticates the client with client_secret_basic,
// client_secret_post or, for public clients, none (RFC 6749 §2.3.1), with
// private_key_jwt (assertion.go) or with tls_client_auth (mtls.go): each
// client only with the method it is registered for. Secrets are compared in
// constant time.
// clientRequest reads a client's POST form and authenticates the client,
// answering the error itself; ok is false when it did.
func (s *Server) clientRequest(w http.ResponseWriter, r *http.Request, endpoint string) (url.Values, *Client, bool) {
	form, oerr := parsePostForm(w, r)
	if oerr != nil {
		writeOAuthError(w, oerr)
		return nil, nil, false
	}
	c, oerr := s.authenticateClient(r, form)
	if oerr != nil {
		s.log.Info("devop: client authentication failed", "endpoint", endpoint, "error", oerr.code)
		writeOAuthError(w, oerr)
		return nil, nil, false
	}
	return form, c, true
}

func (s *Server) authenticateClient(r *http.Request, form url.Values) (*Client, *oauthError) {
	if form.Has("client_assertion") || form.Has("client_assertion_type") {
		if _, _, basic := r.BasicAuth(); basic || form.Has("client_secret") {
			return nil, invalidRequest("Use only one client authentication method.")
		}
		return s.authenticateAssertion(form)
	}
	var id, secret string
	if user, pass, ok := r.BasicAuth(); ok {
		if form.Has("client_secret") {
			return nil, invalidRequest("Use only one client authentication method.")
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(user)
		secret, err2 = url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return nil, invalidClient("The client credentials are not form-encoded.")
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return nil, invalidRequest("The client_id does not match the authenticated client.")
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" {
		return nil, invalidClient("Client authentication is required.")
	}
	c, ok := s.clients[id]
	if !ok {
		_ = secretEqual(secret, "\x00unknown-client") // same work as for a known client
		return nil, invalidClient("Client authentication failed.")
	}
	switch c.authMethod() {
	case "none":
		if secret != "" {
			return nil, invalidClient("A public client must not send a secret.")
		}
		return c, nil
	case "private_key_jwt":
		return nil, invalidClient("This client must authenticate with private_key_jwt.")
	case "tls_client_auth":
		if secret != "" {
			return nil, invalidClient("This client must authenticate with its TLS certificate only.")
		}
		return s.authenticateTLS(r, c)
	}
	if !secretEqual(secret, c.Secret) {
		return nil, invalidClient("Client authentication failed.")
	}
	return c, nil
}
