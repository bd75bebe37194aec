package convert

import (
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/vocab"
)

// mapAlphaHeaders: injectRequestHeaders and injectResponseHeaders. The
// identity headers Gatehouse always sets are built in; a token header maps
// to pass_access_token, pass_authorization or pass_id_token; any other
// header has no equivalent.
func (c *converter) mapAlphaHeaders() {
	for _, h := range c.alpha.request {
		c.alphaHeader(h, false)
	}
	for _, h := range c.alpha.response {
		c.alphaHeader(h, true)
	}
}

func (c *converter) alphaHeader(h alphaHeader, response bool) {
	src := "alpha-config"
	name := strings.ToLower(h.name)
	claim, prefix := "", ""
	if len(h.claims) == 1 {
		claim, prefix = h.claims[0], strings.TrimSpace(h.prefixes[0])
	}
	identity := map[string]string{
		"x-forwarded-user": "user", "x-forwarded-email": "email",
		"x-forwarded-preferred-username": "preferred_username", "x-forwarded-groups": "groups",
		"x-auth-request-user": "user", "x-auth-request-email": "email",
		"x-auth-request-preferred-username": "preferred_username", "x-auth-request-groups": "groups",
	}
	label := h.path + " " + h.name
	if h.preserve {
		c.reportAt(label+" preserveRequestValue", src, Changed, "identity headers a client sends are always stripped")
	}
	switch {
	case identity[name] != "" && len(h.claims) == 1 && prefix == "":
		key := identity[name]
		switch {
		case claim == key, key == "user" && claim == "sub":
			c.reportAt(label, src, Builtin, "always set")
		case key == "user" || key == "email" || key == "groups" || key == "preferred_username":
			c.reportAt(label, src, Mapped, "", c.doc.set("headers", key, claim, label))
		}
	case (name == "x-forwarded-access-token" || name == "x-auth-request-access-token") && claim == "access_token":
		c.setProxied("pass_access_token", true, label)
		c.reportAt(label, src, Mapped, "", "upstream.pass_access_token")
	case name == "authorization" && claim == "access_token" && prefix == "Bearer":
		c.setProxied("pass_authorization", true, label)
		c.reportAt(label, src, Mapped, "", "upstream.pass_authorization")
	case name == "authorization" && claim == "id_token" && prefix == "Bearer" && response:
		c.reportAt(label, src, NoEquivalent, setAuthorizationAdvice)
	case name == "authorization" && claim == "id_token" && prefix == "Bearer":
		c.setProxied("pass_id_token", vocab.PassIDTokenAuthorization, label)
		c.reportAt(label, src, Mapped, "the ID token of the last login or refresh", "upstream.pass_id_token")
	case name == "x-forwarded-id-token" && claim == "id_token" && prefix == "" && !response:
		c.setProxied("pass_id_token", vocab.PassIDTokenHeader, label)
		c.reportAt(label, src, Mapped, "the ID token of the last login or refresh", "upstream.pass_id_token")
	default:
		c.reportAt(label, src, NoEquivalent, "custom headers have no equivalent: Gatehouse sets X-Forwarded-User, -Email, "+
			"-Preferred-Username and -Groups (claims chosen in [headers]) and, on request, the access and ID tokens")
	}
}
