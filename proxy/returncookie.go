package proxy

import (
	"net/http"
	"net/url"
	"time"
)

// The return cookie keeps the page a browser's last login was started for,
// so that the "Start again" of a login that failed after its flow was gone
// (expired at the AS, a callback used twice) still returns there. It holds
// a validated return URL, nothing secret; it is read on /oauth2/ paths
// only, and validated again when read.
const (
	returnCookieName = "gatehouse_return"
	returnCookieTTL  = 24 * time.Hour
)

func (ru *returnURLs) cookieName() string {
	if ru.secure {
		return "__Secure-" + returnCookieName
	}
	return returnCookieName
}

// setCookie remembers rd, the validated return URL of a login.
func (ru *returnURLs) setCookie(w http.ResponseWriter, rd string) {
	http.SetCookie(w, &http.Cookie{
		Name: ru.cookieName(), Value: url.QueryEscape(rd), Path: "/oauth2/", MaxAge: int(returnCookieTTL / time.Second),
		HttpOnly: true, Secure: ru.secure, SameSite: http.SameSiteLaxMode,
	})
}

// fromCookie returns the browser's last validated return URL, or "".
func (ru *returnURLs) fromCookie(r *http.Request) string {
	c, err := r.Cookie(ru.cookieName())
	if err != nil {
		return ""
	}
	raw, err := url.QueryUnescape(c.Value)
	if err != nil {
		return ""
	}
	rd, err := ru.redirects.Validate(raw)
	if err != nil {
		return ""
	}
	return rd
}
