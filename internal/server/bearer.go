package server

import (
	"fmt"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/internal/bearer"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/login"
)

// newBearerVerifier returns the verifier of the AS's access tokens, or nil
// when no upstream accepts bearer tokens. It learns the AS's keys and
// introspection endpoint from lc's discovery, once it has succeeded, and
// shares lc's key set. observe (may be nil) feeds metrics.
func newBearerVerifier(cfg *config.Config, lc *login.Client, rt http.RoundTripper, observe func(string)) (*bearer.Verifier, error) {
	if !cfg.AcceptsBearerTokens() {
		return nil, nil
	}
	v, err := bearer.New(bearer.Options{
		Metadata: func() (bearer.Metadata, error) {
			md, err := lc.ResourceMetadata()
			if err != nil {
				return bearer.Metadata{}, err
			}
			return bearer.Metadata{
				Issuer: md.Issuer, JWKSURI: md.JWKSURI, IntrospectionEndpoint: md.IntrospectionEndpoint,
				IntrospectionAuthMethods: md.IntrospectionAuthMethods, SigningAlgs: md.SigningAlgs,
				Keys: md.Keys,
			}, nil
		},
		Issuer:        cfg.Bearer.Issuer,
		Audiences:     cfg.Bearer.Audiences,
		Algorithms:    cfg.Bearer.Algorithms,
		RequireATJWT:  cfg.Bearer.RequireATJWT,
		Introspection: cfg.Bearer.Introspection,
		ClientID:      cfg.Provider.ClientID,
		ClientSecret:  cfg.Provider.ClientSecret,
		PostForm:      lc.PostForm, // the gateway's client authentication, whatever its method
		HTTPClient:    &http.Client{Timeout: cfg.Provider.Timeout.Duration, Transport: rt},
		CacheSize:     cfg.Bearer.IntrospectionCacheSize,
		CacheTTL:      cfg.Bearer.IntrospectionCacheTTL.Duration,

		NegativeCacheSize:  cfg.Bearer.IntrospectionNegativeCacheSize,
		NegativeCacheTTL:   cfg.Bearer.IntrospectionNegativeCacheTTL.Duration,
		KeyRefetchInterval: cfg.Limits.JWKSRefetchInterval.Duration,
		Observe:            observe,
	})
	if err != nil {
		return nil, fmt.Errorf("bearer: %w", err)
	}
	return v, nil
}
