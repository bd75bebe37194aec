package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-dev/gatehouse/session"
)

// TestClassifyOneMapping: one classification, rendered as a page and as a
// REST flow API document with the same status.
func TestClassifyOneMapping(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	tests := []struct {
		name     string
		err      error
		want     *httpError
		restCode string
	}{
		{"Page", fmt.Errorf("wrapped: %w", errNotFound), errNotFound, "INVALID_REQUEST"},
		{"BodyTooLarge", &http.MaxBytesError{Limit: 1}, errBodyTooLarge, "INVALID_REQUEST"},
		{"ClientGone", context.Canceled, errClientGone, ""},
		{"StoreDown", fmt.Errorf("load: %w", session.ErrUnavailable), errStoreDown, "SESSION_STORE_UNAVAILABLE"},
		{"Timeout", fmt.Errorf("as: %w", context.DeadlineExceeded), errTimeout, "TIMEOUT"},
		{"ProviderDown", fmt.Errorf("%w: %w", errProviderDown, errors.New("not ready")), errProviderDown, "PROVIDER_UNAVAILABLE"},
		{"Other", errors.New("boom"), errInternal, "INTERNAL_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(r, tt.err)
			if got != tt.want {
				t.Fatalf("classify = %v, want %v", got, tt.want)
			}
			if tt.restCode == "" {
				return
			}
			if re := restErrorOf(got); re.Status != got.Status || re.Code != tt.restCode {
				t.Errorf("restErrorOf = %d %s, want %d %s", re.Status, re.Code, got.Status, tt.restCode)
			}
		})
	}
}
