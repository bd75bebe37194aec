package convert

import (
	"slices"
	"strings"
	"testing"
)

func TestSkipPaths(t *testing.T) {
	for _, tc := range []struct {
		pattern  string
		paths    []string
		narrower bool
		err      string
	}{
		{"^/static/", []string{"/static/*"}, false, ""},
		{"^/static/.*", []string{"/static/*"}, false, ""},
		{"^/static/.*$", []string{"/static/*"}, false, ""},
		{"^/favicon\\.ico$", []string{"/favicon.ico"}, false, ""},
		{"^/favicon.ico$", []string{"/favicon.ico"}, true, ""},
		{"^/health/?$", []string{"/health", "/health/"}, false, ""},
		{"^/(css|js|img)/", []string{"/css/*", "/js/*", "/img/*"}, false, ""},
		{"^/v[12]/public/", []string{"/v1/public/*", "/v2/public/*"}, false, ""},
		{"^/public", []string{"/public", "/public/*"}, true, ""},
		{"/public", nil, false, "not anchored"},
		{"\\.js$", nil, false, "not anchored"},
		{"^/api/.*/docs$", nil, false, "repetition"},
		{"^/", nil, false, "every path"},
		{"^.*", nil, false, "does not start"},
		{"^/(?i)admin", nil, false, "case-insensitive"},
		{"^/[a-z]+/", nil, false, "repetition"},
		{"^/x[", nil, false, "not a valid regular expression"},
		{"^(/a|b)/", nil, false, "does not start"},
	} {
		paths, narrower, err := skipPaths(tc.pattern)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, %v; want an error containing %q", tc.pattern, paths, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(paths, tc.paths) || narrower != tc.narrower {
			t.Errorf("%q: %q narrower=%v %v; want %q narrower=%v", tc.pattern, paths, narrower, err, tc.paths, tc.narrower)
		}
	}
}
