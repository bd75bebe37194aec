// Package audit declares the gateway's audit events: the typed record that
// one call both logs (as the stable "event" attribute and the fields below)
// and counts (internal/metrics). It imports no project package.
package audit

import "log/slog"

// Kind is what happened: the stable "event" attribute of the audit log line.
type Kind string

// Kinds of audit events. Those counted by internal/metrics are Login,
// LoginFailed, Refresh, RefreshFailed, Logout, LogoutRejected and
// AccessDenied; the others are only logged.
const (
	Login          Kind = "login"           // a login completed
	LoginFailed    Kind = "login_failed"    // a login failed (Reason)
	Refresh        Kind = "refresh"         // an access token was refreshed
	RefreshFailed  Kind = "refresh_failed"  // a refresh failed (Reason)
	Logout         Kind = "logout"          // sessions ended (Channel)
	LogoutRejected Kind = "logout_rejected" // a logout request was refused (Channel, Reason)
	AccessDenied   Kind = "access_denied"   // a request was refused by a rule (Route)

	RevocationFailed          Kind = "revocation_failed"
	BearerRefused             Kind = "bearer_refused"
	UpstreamTokenFailed       Kind = "upstream_token_failed"
	UpstreamSetOwnCookie      Kind = "upstream_set_own_cookie"
	UntrustedForwardedHeaders Kind = "untrusted_forwarded_headers"
	RESTFlowStart             Kind = "rest_flow_start"
	RESTFlowReissue           Kind = "rest_flow_reissue"
	RESTFlowAbort             Kind = "rest_flow_abort"
	RESTFlowComplete          Kind = "rest_flow_complete"
	ConfigWarning             Kind = "config_warning"
)

// Event is one audit event. Its fields are the facts metrics count by; each
// is logged under its key when set. Unbounded data (subjects, user names,
// errors) travels beside it as log attributes only.
type Event struct {
	Kind Kind
	// Channel is the "kind" attribute of logouts and failed logins: local,
	// backchannel, frontchannel, rest.
	Channel string
	// Reason is why a login, refresh or logout request failed: one of a
	// fixed set of short snake_case words.
	Reason string
	// Route is the route an access denial or a password grant concerns
	// (a route name, or "login").
	Route string
}

// Attrs returns e's log attributes, "event" first, followed by extra.
func (e Event) Attrs(extra ...slog.Attr) []slog.Attr {
	out := make([]slog.Attr, 0, 4+len(extra))
	out = append(out, slog.String("event", string(e.Kind)))
	if e.Channel != "" {
		out = append(out, slog.String("kind", e.Channel))
	}
	if e.Reason != "" {
		out = append(out, slog.String("reason", e.Reason))
	}
	if e.Route != "" {
		out = append(out, slog.String("route", e.Route))
	}
	return append(out, extra...)
}
