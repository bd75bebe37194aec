package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// ErrPushedRequest: the AS's pushed authorization request endpoint (RFC
// 9126) refused the request or could not be reached.
var ErrPushedRequest = errors.New("login: pushed authorization request failed")

// push posts params (req's parameters, or its request object) to the PAR endpoint
// (RFC 9126 §2.1) and rewrites req to the short form the browser carries:
// client_id and request_uri (§4).
func (a *asClient) push(ctx context.Context, md *metadata, req *Request, authURL *url.URL, params url.Values) error {
	resp, err := a.postForm(ctx, md, md.fapi.par, params)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPushedRequest, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return fmt.Errorf("%w: read response: %w", ErrPushedRequest, err)
	}
	var r struct {
		RequestURI string `json:"request_uri"`
		Error      string `json:"error"`
		// error_description is not logged: it is the AS's text.
	}
	jerr := json.Unmarshal(body, &r)
	switch {
	case resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: status %d, error %q", ErrPushedRequest, resp.StatusCode, sanitizeError(r.Error))
	case jerr != nil || r.RequestURI == "":
		return fmt.Errorf("%w: the response has no request_uri", ErrPushedRequest)
	}
	q := url.Values{"client_id": {a.clientID}, "request_uri": {r.RequestURI}}
	short := *authURL
	short.RawQuery = q.Encode()
	req.URL, req.Params, req.Pushed = short.String(), q, true
	return nil
}

// sanitizeError keeps an OAuth error code printable and short for logs.
func sanitizeError(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '_'
		}
	}
	return string(b)
}
