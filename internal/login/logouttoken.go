package login

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// ErrLogoutToken: a back-channel logout token failed validation.
var ErrLogoutToken = errors.New("login: logout token invalid")

// LogoutTokenMaxAge is how old a logout token without exp may be (by its
// iat) when Options.InsecureLogoutTokenWithoutExp accepts it; its jti is
// remembered that long.
const LogoutTokenMaxAge = 2 * time.Minute

// backchannelEvent is the event a logout token must carry (OpenID Connect
// Back-Channel Logout 1.0 §2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutToken is a verified back-channel logout token.
type LogoutToken struct {
	Issuer  string
	Subject string // may be empty when SID is set
	SID     string // may be empty when Subject is set
	JTI     string
	Expiry  time.Time
}

// VerifyLogoutToken validates a logout token (OpenID Connect Back-Channel
// Logout 1.0 §2.6): signature with the AS's keys and the ID token algorithm
// allowlist, iss, aud, exp, iat, a jti, the back-channel logout event, no
// nonce, and a sid or a sub. Replay (a jti seen before) is the caller's check.
func (c *Client) VerifyLogoutToken(ctx context.Context, raw string) (*LogoutToken, error) {
	md, err := c.metadata()
	if err != nil {
		return nil, err
	}
	idt, err := md.verifier.Verify(c.as.ctx(ctx), raw)
	withoutExp := err != nil && missingExp(raw)
	if withoutExp && c.opts.InsecureLogoutTokenWithoutExp {
		idt, err = oidc.NewVerifier(c.opts.Issuer, md.keys, &oidc.Config{
			ClientID: c.opts.ClientID, SupportedSigningAlgs: md.algs, Now: c.now, SkipExpiryCheck: true,
		}).Verify(c.as.ctx(ctx), raw)
	}
	if err != nil {
		if withoutExp && !c.opts.InsecureLogoutTokenWithoutExp { // go-oidc would say "token is expired (Token Expiry: 0001-01-01...)"
			return nil, fmt.Errorf("%w: exp is missing (Back-Channel Logout 1.0 §2.4 requires it)", ErrLogoutToken)
		}
		return nil, fmt.Errorf("%w: %w", ErrLogoutToken, err)
	}
	if withoutExp { // accepted by InsecureLogoutTokenWithoutExp: iat bounds its life
		if idt.IssuedAt.IsZero() || c.now().Sub(idt.IssuedAt) > LogoutTokenMaxAge {
			return nil, fmt.Errorf("%w: exp is missing and iat is more than %v old", ErrLogoutToken, LogoutTokenMaxAge)
		}
		idt.Expiry = idt.IssuedAt.Add(LogoutTokenMaxAge)
	}
	var claims struct {
		SID    string                     `json:"sid"`
		JTI    string                     `json:"jti"`
		Nonce  *json.RawMessage           `json:"nonce"`
		Events map[string]json.RawMessage `json:"events"`
	}
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrLogoutToken, err)
	}
	ev, ok := claims.Events[backchannelEvent]
	switch {
	case !ok || len(ev) == 0 || ev[0] != '{':
		return nil, fmt.Errorf("%w: no back-channel logout event", ErrLogoutToken)
	case claims.Nonce != nil:
		return nil, fmt.Errorf("%w: has a nonce", ErrLogoutToken)
	case claims.SID == "" && idt.Subject == "":
		return nil, fmt.Errorf("%w: neither sid nor sub", ErrLogoutToken)
	case claims.JTI == "":
		return nil, fmt.Errorf("%w: no jti", ErrLogoutToken)
	case idt.IssuedAt.IsZero() || idt.IssuedAt.After(c.now().Add(maxIATSkew)):
		return nil, fmt.Errorf("%w: missing or future iat", ErrLogoutToken)
	}
	return &LogoutToken{Issuer: idt.Issuer, Subject: idt.Subject, SID: claims.SID, JTI: claims.JTI, Expiry: idt.Expiry}, nil
}

// missingExp reports whether the payload of the compact JWT raw, read
// without verification, is a JSON object without exp. It only words the
// error of a token that failed verification.
func missingExp(raw string) bool {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var claims map[string]json.RawMessage
	if json.Unmarshal(payload, &claims) != nil {
		return false
	}
	_, ok := claims["exp"]
	return !ok
}
