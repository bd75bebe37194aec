package login

import (
	"errors"
	"net/http"
	"testing"

	"golang.org/x/oauth2"
)

// TestTokenErrorRefused: a 400 or 401 from the token endpoint is a refusal
// whether or not it carries an RFC 6749 §5.2 error body (issue #20.1); a
// transient error code or another status is not.
func TestTokenErrorRefused(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		code          string
		refused, gone bool // ErrRefused, ErrInvalidGrant
	}{
		{"InvalidGrant", 400, "invalid_grant", false, true},
		{"Bare400", 400, "", true, false},
		{"Bare401", 401, "", true, false},
		{"InvalidClient", 401, "invalid_client", true, false},
		{"InvalidRequest", 400, "invalid_request", true, false},
		{"TemporarilyUnavailable400", 400, "temporarily_unavailable", false, false},
		{"ServerError", 500, "server_error", false, false},
		{"Bare503", 503, "", false, false},
		{"TooManyRequests", 429, "", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tokenError(&oauth2.RetrieveError{Response: &http.Response{StatusCode: tc.status}, ErrorCode: tc.code})
			if got := errors.Is(err, ErrRefused); got != tc.refused {
				t.Errorf("ErrRefused: %v, want %v (%v)", got, tc.refused, err)
			}
			if got := errors.Is(err, ErrInvalidGrant); got != tc.gone {
				t.Errorf("ErrInvalidGrant: %v, want %v (%v)", got, tc.gone, err)
			}
			if !tc.gone && !errors.Is(err, ErrTokenEndpoint) {
				t.Errorf("not ErrTokenEndpoint: %v", err)
			}
		})
	}
}
