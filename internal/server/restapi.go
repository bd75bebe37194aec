package server

import (
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/proxy"
)

// restOptions converts the [rest_api] section for the proxy.
func restOptions(c config.RESTAPI) proxy.RESTOptions {
	o := proxy.RESTOptions{
		Enabled:            c.Enabled,
		BasePath:           c.BasePath,
		FlowTTL:            c.FlowTTL.Duration,
		MaxAttempts:        c.MaxAttempts,
		DefaultApplication: c.DefaultApplication,
	}
	for _, a := range c.Applications {
		o.Applications = append(o.Applications, proxy.RESTApplication{
			Name: a.Name, RedirectURIs: a.RedirectURIs, ClientID: a.ClientID, ClientSecret: a.ClientSecret,
		})
	}
	return o
}
