package proxy

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/redirect"
)

// returnURLs chooses where a login returns to: the return URL a request
// asks for (rd, X-Auth-Request-Redirect), validated by the redirect
// validator, and the return cookie that keeps the last one
// (returncookie.go).
type returnURLs struct {
	redirects *redirect.Validator
	publicURL *url.URL
	secure    bool // the return cookie is Secure, with the "__Secure-" prefix
	logger    *slog.Logger
}

// valid returns raw if it is an acceptable return URL, else "/".
func (ru *returnURLs) valid(raw string) string {
	rd, err := ru.redirects.Validate(raw)
	if err != nil || rd == "" {
		return "/"
	}
	return rd
}

// requested chooses the return URL of a login started by r, as oauth2-proxy
// does: the rd query parameter, else the X-Auth-Request-Redirect header;
// the first that the redirect validator accepts wins, and one it refuses
// is skipped (logged at debug, with the validator's reason, never the
// value). It returns "" when neither is acceptable (startLogin then uses
// "/").
//
// A path ("/reports?q=1") asked for on a host other than the public URL's
// (a sign-in page served at an application's URL on its own host) is made
// absolute on that host when the result is acceptable (that host is in
// server.allowed_redirect_domains), so that the login returns there.
func (ru *returnURLs) requested(r *http.Request) string {
	for _, c := range []struct{ source, value string }{
		{"rd", r.URL.Query().Get("rd")},
		{headerAuthRequestRedirect, r.Header.Get(headerAuthRequestRedirect)},
	} {
		if c.value == "" {
			continue
		}
		if abs := ru.onRequestHost(r, c.value); abs != "" {
			if v, err := ru.redirects.Validate(abs); err == nil {
				return v
			}
		}
		v, err := ru.redirects.Validate(c.value)
		if err == nil {
			return v
		}
		ru.logger.Debug("return-to URL ignored", "source", c.source, "path", r.URL.Path, "error", err)
	}
	return ""
}

// onRequestHost returns the path reference p as an absolute URL on r's
// host, when that host is not the public URL's; "" otherwise.
func (ru *returnURLs) onRequestHost(r *http.Request, p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || r.Host == "" || sameHost(r.Host, ru.publicURL.Host) {
		return ""
	}
	return ru.publicURL.Scheme + "://" + r.Host + p
}
