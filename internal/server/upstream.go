package server

import (
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/proxy"
)

// withUpstreamOptions copies u's connection and identity options
// (internal/config/upstream_options.go) into r.
func withUpstreamOptions(r *proxy.Route, u *config.Upstream) {
	r.PreserveHost, r.StripPrefix = u.PreserveHost, u.StripPrefix
	r.Transport.CAFile = u.TLSCAFile
	r.Transport.ClientCertFile, r.Transport.ClientKeyFile = u.TLSClientCertFile, u.TLSClientKeyFile
	r.Transport.InsecureSkipVerify = u.TLSInsecureSkipVerify
	r.Transport.H2C = u.H2C
	r.PassIDToken = u.PassIDToken
	if h := u.AssertionHeader(); h != "" {
		r.AssertionHeader, r.AssertionAudience = h, u.AssertionAudience()
	}
}
