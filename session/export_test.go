package session

// CacheEnabled reports whether m serves sessions from its local cache (Run
// has a working subscription).
func CacheEnabled(m *Manager) bool { return m.cache != nil && m.cache.enabled.Load() }
