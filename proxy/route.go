package proxy

import (
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/bearer"
)

// route is a Route compiled by New: a copy of the caller's Route (New never
// writes to Options.Routes) with its rules compiled and its token sources
// built. It never changes once built; upstream.Route.Data holds it.
type route struct {
	Route
	policy *authz.Policy // Rules, compiled
	tokens routeTokens   // UpstreamToken's and AuthPasswordGrant's token sources
}

// compileRoutes compiles copies of routes and the fallback policy of
// forward-auth requests no route matches (defaultRules), and checks that
// the routes that accept bearer tokens have a verifier.
func compileRoutes(routes []Route, defaultRules authz.Rules, bv *bearer.Verifier, ts tokenSources) ([]*route, *route, error) {
	var errs []error
	out := make([]*route, len(routes))
	for i, r := range routes {
		rt := &route{Route: r}
		if rt.Auth == "" {
			rt.Auth = AuthSession
		}
		out[i] = rt
		p, err := authz.New(rt.Rules)
		if err != nil {
			errs = append(errs, fmt.Errorf("proxy: route %s: %w", rt.Name, err))
			continue
		}
		rt.policy = p
		if (rt.Auth == AuthBearer || rt.Auth == AuthSessionOrBearer) && bv == nil {
			errs = append(errs, fmt.Errorf("proxy: route %s accepts bearer tokens, but Options.Bearer is nil", rt.Name))
		}
	}
	p, err := authz.New(defaultRules)
	if err != nil {
		errs = append(errs, fmt.Errorf("proxy: default rules: %w", err))
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	for _, rt := range out {
		if err := rt.compileTokens(ts); err != nil {
			errs = append(errs, err)
		}
	}
	fallback := &route{Route: Route{Name: "default", Auth: AuthSession, Rules: defaultRules}, policy: p}
	return out, fallback, errors.Join(errs...)
}
