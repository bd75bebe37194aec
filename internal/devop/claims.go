package devop

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
)

// grantedScopes returns the supported scopes among the space-separated
// requested ones, in the order of supportedScopes. Unknown scopes are
// ignored (RFC 6749 §3.3 lets the server grant fewer).
func grantedScopes(requested string) []string {
	req := strings.Fields(requested)
	var out []string
	for _, s := range supportedScopes {
		if slices.Contains(req, s) {
			out = append(out, s)
		}
	}
	return out
}

// userClaims returns the claims about u that scopes release (OpenID Connect
// Core §5.4).
func userClaims(u User, scopes []string) map[string]any {
	c := map[string]any{"sub": u.Subject}
	if slices.Contains(scopes, "email") {
		c["email"] = u.Email
		c["email_verified"] = u.EmailVerified
	}
	if slices.Contains(scopes, "profile") {
		c["name"] = u.Name
		c["preferred_username"] = u.PreferredUsername
	}
	if slices.Contains(scopes, "groups") {
		groups := u.Groups
		if groups == nil {
			groups = []string{}
		}
		c["groups"] = append([]string(nil), groups...)
	}
	return c
}

// idTokenParams are the inputs of an ID token besides the login.
type idTokenParams struct {
	clientID    string
	scopes      []string
	nonce       string // empty on refresh
	accessToken string
}

// idToken builds, hooks and signs an ID token (OpenID Connect Core §2).
func (s *Server) idToken(l login, p idTokenParams, now time.Time) (string, error) {
	claims := userClaims(l.user, p.scopes)
	claims["iss"] = s.issuer
	claims["aud"] = s.audience(p.clientID)
	claims["azp"] = p.clientID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(s.opts.IDTokenTTL).Unix()
	claims["auth_time"] = l.authTime.Unix()
	claims["sid"] = l.sid
	if p.nonce != "" {
		claims["nonce"] = p.nonce
	}
	if p.accessToken != "" {
		claims["at_hash"] = leftHalfHash(p.accessToken)
	}
	if h := s.opts.Hooks.IDToken; h != nil {
		h(claims)
	}
	if h := s.opts.Hooks.SignIDToken; h != nil {
		tok, err := h(claims)
		if err != nil {
			return "", fmt.Errorf("sign id token (hook): %w", err)
		}
		return tok, nil
	}
	tok, err := s.keys.sign(claims)
	if err != nil {
		return "", fmt.Errorf("sign id token: %w", err)
	}
	return tok, nil
}

// leftHalfHash is the at_hash of an RS256-signed token (OpenID Connect Core
// §3.1.3.6).
func leftHalfHash(v string) string {
	h := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(h[:len(h)/2])
}

// audience is the aud claim for clientID: a string, or a one-element array
// under Deviations.AudienceArray.
func (s *Server) audience(clientID string) any {
	if s.opts.Deviations.AudienceArray {
		return []string{clientID}
	}
	return clientID
}
