// Package canon reads a request the way the gateway decides about it: one
// canonical host (Host) and the readings of the path that servers are
// known to act on (ParsePath). Every decision of the gateway (route,
// rules, skip_auth, forward-auth, the upstream rewrite) is made on these,
// computed once per request, so that no two parts of the gateway read the
// same header differently. It is pure and imports no project package.
package canon
