package proxy

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/upstream"
)

var (
	errUpstreamDown    = &pageError{Status: http.StatusBadGateway, Code: "upstream_unavailable", Title: "Application unavailable", Detail: "The application behind the gateway cannot be reached. Please try again in a moment."}
	errUpstreamTimeout = &pageError{Status: http.StatusGatewayTimeout, Code: "upstream_timeout", Title: "Application timed out", Detail: "The application behind the gateway took too long to answer."}
)

// upstreamError answers when an upstream cannot be reached.
func (g *Gateway) upstreamError(w http.ResponseWriter, r *http.Request, route *upstream.Route, err error) {
	var te *upstreamTokenError
	switch {
	case errors.As(err, &te) && !errors.Is(err, context.Canceled): // grants.go
		g.upstreamTokenFailed(w, r, route, te)
	case errors.Is(err, context.Canceled):
		w.WriteHeader(499)
	case errors.Is(err, context.DeadlineExceeded):
		g.logger.Warn("upstream timed out", "route", route.Name, "error", err)
		g.fail(w, r, errUpstreamTimeout)
	default:
		g.logger.Warn("upstream unreachable", "route", route.Name, "error", err)
		g.fail(w, r, errUpstreamDown)
	}
}
