package proxy

import (
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/upstream"
)

var (
	errUpstreamDown    = &httpError{Status: http.StatusBadGateway, Code: "upstream_unavailable", Title: "Application unavailable", Detail: "The application behind the gateway cannot be reached. Please try again in a moment."}
	errUpstreamTimeout = &httpError{Status: http.StatusGatewayTimeout, Code: "upstream_timeout", Title: "Application timed out", Detail: "The application behind the gateway took too long to answer."}
)

// upstreamError answers when a proxied request failed before the upstream's
// response: the client's fault (clientFault: 400, 408, 413 or 499, not
// logged as an upstream failure), a timeout (504), or an unreachable
// upstream (502).
func (rl *relay) upstreamError(w http.ResponseWriter, r *http.Request, route *upstream.Route, err error) {
	var te *upstreamTokenError
	if pe := clientFault(r, err); pe != nil {
		if pe == errClientGone {
			w.WriteHeader(499)
			return
		}
		rl.logger.Debug("proxied request refused: client fault", "route", route.Name, "code", pe.Code, "error", err)
		rl.fail(w, r, pe)
		return
	}
	switch {
	case errors.As(err, &te): // grants.go
		rl.upstreamTokenFailed(w, r, route, te)
	case upstream.IsTimeout(err):
		rl.logger.Warn("upstream timed out", "route", route.Name, "error", err)
		rl.fail(w, r, errUpstreamTimeout)
	default:
		rl.logger.Warn("upstream unreachable", "route", route.Name, "error", err)
		rl.fail(w, r, errUpstreamDown)
	}
}
