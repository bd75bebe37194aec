package login

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Request is one authorization request (RFC 6749 §4.1.1). State, Nonce and
// Verifier are secrets the gateway keeps server-side until the response.
type Request struct {
	State       string
	Nonce       string
	Verifier    string // PKCE code_verifier (RFC 7636 §4.1); "" without PKCE
	RedirectURI string
	// URL is the full authorization request URL at the AS.
	URL string
	// Params are the request's query parameters, for clients that build the URL themselves.
	Params url.Values
	// Endpoint is the AS's authorization endpoint.
	Endpoint string
	// PKCEMethod is the code_challenge_method sent (PKCES256, PKCEPlain),
	// or "" without PKCE. With PAR, Params do not show it.
	PKCEMethod string
	// Pushed reports that the parameters were pushed to the AS (RFC 9126):
	// URL and Params carry only client_id and request_uri.
	Pushed bool
}

// NewRequest creates an authorization request with a fresh state and nonce
// (256 bits each from crypto/rand) and a PKCE S256 challenge (plain for an
// AS that supports only that; none with InsecureDisablePKCE, when Verifier
// is empty). A plain OAuth 2.0 request carries no nonce. The prompt is
// "consent" when offline_access is requested (OpenID Connect Core §11: many
// ASes issue refresh tokens only then), unless extra parameters set one.
//
// NewRequest is NewRequestPrompt with no prompt and a background context.
func (c *Client) NewRequest(redirectURI string) (*Request, error) {
	return c.NewRequestPrompt(context.Background(), redirectURI, "")
}

// NewRequestPrompt is NewRequest with prompt (OpenID Connect Core
// §3.1.2.1), e.g. "select_account" to let the user choose another account.
// It replaces a prompt of the extra parameters; "consent" is added to it
// when offline_access is requested. An AS whose prompt_values_supported
// lacks "select_account" is asked for "login" instead: signing in again
// is how it lets the user choose another account.
//
// When discovery chose pushed authorization requests (RFC 9126), it posts
// the parameters to the AS's PAR endpoint with the client's authentication
// and returns a request whose URL carries only client_id and the
// request_uri the AS issued: the browser never sees the parameters. A
// refusal or failure of the PAR endpoint is ErrPushedRequest.
func (c *Client) NewRequestPrompt(ctx context.Context, redirectURI, prompt string) (*Request, error) {
	md, err := c.metadata()
	if err != nil {
		return nil, err
	}
	state, err := randomString()
	if err != nil {
		return nil, err
	}
	nonce, err := randomString()
	if err != nil {
		return nil, err
	}
	verifier := oauth2.GenerateVerifier()
	conf := md.oauth
	conf.RedirectURL = redirectURI
	var opts []oauth2.AuthCodeOption
	switch md.pkce {
	case PKCES256:
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	case PKCEPlain: // only for an AS that supports nothing else (discovery.go)
		opts = append(opts, oauth2.SetAuthURLParam("code_challenge", verifier), oauth2.SetAuthURLParam("code_challenge_method", PKCEPlain))
	default: // InsecureDisablePKCE
		verifier = ""
	}
	if !md.plainOAuth2 { // a plain OAuth 2.0 server issues no ID token to carry it
		opts = append(opts, oidc.Nonce(nonce))
	}
	_, hasPrompt := c.opts.ExtraAuthParams["prompt"]
	offline := slices.Contains(c.opts.Scopes, oidc.ScopeOfflineAccess)
	if !hasPrompt && offline && prompt == "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "consent"))
	}
	for k, v := range c.opts.ExtraAuthParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	if prompt == "select_account" && md.prompts != nil && !slices.Contains(md.prompts, prompt) {
		prompt = "login"
	}
	if prompt != "" {
		if offline && prompt != "none" {
			prompt += " consent"
		}
		opts = append(opts, oauth2.SetAuthURLParam("prompt", prompt))
	}
	if md.fapi.jarm {
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", "jwt"))
	}
	raw := conf.AuthCodeURL(state, opts...)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("login: authorization URL: %w", err)
	}
	req := &Request{
		State:       state,
		Nonce:       nonce,
		Verifier:    verifier,
		RedirectURI: redirectURI,
		URL:         raw,
		Params:      u.Query(),
		Endpoint:    md.oauth.Endpoint.AuthURL,
		PKCEMethod:  md.pkce,
	}
	sent, err := c.as.securedParams(md, u.Query()) // jar.go: a signed request object with JAR
	if err != nil {
		return nil, err
	}
	if md.fapi.par != "" {
		if err := c.as.push(ctx, md, req, u, sent); err != nil {
			return nil, err
		}
	} else if md.fapi.jar {
		u.RawQuery = sent.Encode()
		req.URL, req.Params = u.String(), sent
	}
	return req, nil
}

func randomString() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("login: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
