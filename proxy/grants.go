package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/grants"
	"github.com/gatehouse-dev/gatehouse/internal/login"
	"github.com/gatehouse-dev/gatehouse/internal/vocab"
	"github.com/gatehouse-dev/gatehouse/upstream"
)

// Values of Route.UpstreamToken: which token the upstream receives.
const (
	// UpstreamTokenUser (the default, also "") sends the user's access
	// token where PassAccessToken and PassAuthorization say.
	UpstreamTokenUser = vocab.UpstreamTokenUser
	// UpstreamTokenClientCredentials sends the gateway's own token (RFC 6749
	// §4.4) in "Authorization: Bearer", whoever the user is: one token per
	// route, fetched once at a time and replaced shortly before it expires.
	UpstreamTokenClientCredentials = vocab.UpstreamTokenClientCredentials
	// UpstreamTokenExchange sends, in "Authorization: Bearer", the user's
	// access token exchanged for one for this upstream (RFC 8693). The
	// exchanged tokens are cached in this process, per user's token.
	UpstreamTokenExchange = vocab.UpstreamTokenExchange
	// UpstreamTokenNone sends no token; an Authorization header the client
	// sent is removed too.
	UpstreamTokenNone = vocab.UpstreamTokenNone
)

// routeTokens are a route's token sources; nil when unused.
type routeTokens struct {
	source   *grants.Source                  // UpstreamTokenClientCredentials
	exchange *grants.Exchanger               // UpstreamTokenExchange
	password *grants.Password[*login.Result] // AuthPasswordGrant
}

// tokenSources says how a route's token sources reach the AS.
type tokenSources struct {
	login         *login.Client
	refreshBefore time.Duration
	logger        *slog.Logger
	now           func() time.Time
}

// compileTokens checks rt's UpstreamToken and builds its token sources,
// each of which asks the AS with the gateway's client authentication.
func (rt *route) compileTokens(g tokenSources) error {
	var errs []error
	params := rt.TokenParams
	switch rt.UpstreamToken {
	case "", UpstreamTokenUser, UpstreamTokenNone:
	case UpstreamTokenClientCredentials:
		if rt.PassAuthorization {
			errs = append(errs, fmt.Errorf("proxy: route %s: PassAuthorization conflicts with UpstreamTokenClientCredentials", rt.Name))
		}
		rt.tokens.source = grants.NewSource(grants.SourceOptions{
			Fetch: func(ctx context.Context) (grants.Token, error) {
				t, err := g.login.ClientCredentials(ctx, params)
				if err != nil {
					return grants.Token{}, err
				}
				return grants.Token{AccessToken: t.AccessToken, Expiry: t.Expiry}, nil
			},
			RefreshBefore: g.refreshBefore,
			Logger:        g.logger.With("route", rt.Name),
			Now:           g.now,
		})
	case UpstreamTokenExchange:
		if rt.Auth == AuthPublic || rt.PassAuthorization || rt.PassAccessToken {
			errs = append(errs, fmt.Errorf("proxy: route %s: UpstreamTokenExchange needs a user and forwards only the exchanged token (not with AuthPublic, PassAccessToken or PassAuthorization)", rt.Name))
		}
		rt.tokens.exchange = grants.NewExchanger(grants.ExchangerOptions{
			Exchange: func(ctx context.Context, subject string) (grants.Token, error) {
				t, err := g.login.ExchangeToken(ctx, subject, params)
				if err != nil {
					return grants.Token{}, err
				}
				return grants.Token{AccessToken: t.AccessToken, Expiry: t.Expiry}, nil
			},
			RefreshBefore: g.refreshBefore,
			Now:           g.now,
		})
	default:
		errs = append(errs, fmt.Errorf("proxy: route %s: unknown UpstreamToken %q", rt.Name, rt.UpstreamToken))
	}
	if rt.Auth == AuthPasswordGrant {
		rt.tokens.password = grants.NewPassword(grants.PasswordOptions[*login.Result]{
			Fetch: func(ctx context.Context, username, password string) (*login.Result, time.Time, error) {
				res, err := g.login.PasswordGrant(ctx, username, password, params)
				if errors.Is(err, login.ErrInvalidGrant) {
					return nil, time.Time{}, fmt.Errorf("%w: %w", grants.ErrInvalidCredentials, err)
				}
				if err != nil {
					return nil, time.Time{}, err
				}
				return res, res.Expiry, nil
			},
			RefreshBefore: g.refreshBefore,
			Now:           g.now,
		})
	}
	return errors.Join(errs...)
}

// upstreamTokenError is why the upstream's token could not be obtained. It
// travels in the outgoing request's context to grantTransport, which fails
// the request with it before anything reaches the upstream.
type upstreamTokenError struct {
	kind string // the route's UpstreamToken
	err  error
}

func (e *upstreamTokenError) Error() string {
	return "proxy: obtain the upstream's " + e.kind + " token: " + e.err.Error()
}

func (e *upstreamTokenError) Unwrap() error { return e.err }

type upstreamTokenErrKey struct{}

// setUpstreamToken runs in the rewrite step of every proxied request: it
// removes the client's Authorization header where the route's own token
// replaces it (or none may pass, or it carried a password), then sets the
// route's token. A failure to obtain it is attached to the outgoing request
// for grantTransport.
func (rl *relay) setUpstreamToken(pr *httputil.ProxyRequest, pol *route, fwd *forward) {
	if pol.Auth == AuthPasswordGrant || (pol.UpstreamToken != "" && pol.UpstreamToken != UpstreamTokenUser) {
		pr.Out.Header.Del("Authorization")
	}
	var (
		tok string
		err error
	)
	ctx := pr.In.Context()
	switch {
	case pol.tokens.source != nil:
		tok, err = pol.tokens.source.Token(ctx)
	case pol.tokens.exchange != nil && fwd != nil && fwd.accessToken != "":
		tok, err = pol.tokens.exchange.Token(ctx, fwd.accessToken)
	default:
		return
	}
	if err != nil {
		te := &upstreamTokenError{kind: pol.UpstreamToken, err: err}
		pr.Out = pr.Out.WithContext(context.WithValue(pr.Out.Context(), upstreamTokenErrKey{}, te))
		return
	}
	pr.Out.Header.Set("Authorization", "Bearer "+tok)
}

// grantTransport wraps each upstream transport, after wrap (when set), so
// that a request whose token could not be obtained fails with that error
// instead of reaching the upstream without it.
func grantTransport(wrap func(http.RoundTripper) http.RoundTripper) func(http.RoundTripper) http.RoundTripper {
	return func(rt http.RoundTripper) http.RoundTripper {
		if wrap != nil {
			rt = wrap(rt)
		}
		return tokenCheckTransport{rt}
	}
}

type tokenCheckTransport struct{ base http.RoundTripper }

func (t tokenCheckTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if te, ok := r.Context().Value(upstreamTokenErrKey{}).(*upstreamTokenError); ok {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, te
	}
	return t.base.RoundTrip(r)
}

// errUpstreamToken: the AS did not issue the token the upstream needs.
var errUpstreamToken = &httpError{Status: http.StatusBadGateway, Code: "upstream_token_unavailable", Title: "Sign-in service error",
	Detail: "The gateway could not obtain the credentials this application needs from the sign-in service. Please try again."}

// upstreamTokenFailed answers a request whose upstream token could not be
// obtained: 503 while the AS's metadata is not loaded, 502 otherwise.
func (rl *relay) upstreamTokenFailed(w http.ResponseWriter, r *http.Request, route *upstream.Route, te *upstreamTokenError) {
	if errors.Is(te, login.ErrNotReady) {
		rl.fail(w, r, errProviderDown)
		return
	}
	rl.audit(slog.LevelWarn, "upstream token unavailable", audit.Event{Kind: audit.UpstreamTokenFailed, Route: route.Name}, slog.String("token", te.kind), slog.Any("error", te.err))
	rl.fail(w, r, errUpstreamToken)
}
