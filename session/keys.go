package session

import "strings"

// The store key space is this package's: every key, lock and notification
// is built here. Other packages ask for what they mean (Refresh, FirstUse,
// KindOf), never for a prefix.
const (
	prefixSession   = "s:" // a sealed session record
	prefixFlow      = "f:" // a sealed pending authorization flow
	prefixIndex     = "x:" // a set of session IDs (by sid, by subject)
	prefixLock      = "l:" // a session's refresh lock
	prefixRefreshed = "r:" // notification: a session's tokens were refreshed
	prefixFirstUse  = "j:" // a remembered single-use ID (FirstUse)
	prefixProbe     = "p:" // notification: Run's subscription probe
)

// Kind is what a store key holds.
type Kind int

// Kinds of store keys (KindOf).
const (
	KindOther      Kind = iota
	KindSession         // a session record
	KindFlow            // a pending authorization flow
	KindIndex           // a set of session IDs for back-channel logout
	KindLock            // a refresh lock or a remembered single-use ID
	KindRevocation      // a revocation of cookie sessions (cookiestore.go)
	KindGrace           // a refreshed cookie session, by its predecessor (cookiestore.go)
)

// KindOf returns what key, a key this package gave a Store, holds: for
// metrics that count, say, started flows.
func KindOf(key string) Kind {
	switch {
	case strings.HasPrefix(key, prefixSession):
		return KindSession
	case strings.HasPrefix(key, prefixFlow):
		return KindFlow
	case strings.HasPrefix(key, prefixIndex):
		return KindIndex
	case strings.HasPrefix(key, prefixLock), strings.HasPrefix(key, prefixFirstUse):
		return KindLock
	case strings.HasPrefix(key, prefixRevoked):
		return KindRevocation
	case strings.HasPrefix(key, prefixGrace):
		return KindGrace
	}
	return KindOther
}
