package deploytest

import (
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// TestHelmOptions renders the chart with the options a user is likely to
// set and runs the checks of TestManifests on the result.
func TestHelmOptions(t *testing.T) {
	df := parseDockerfile(t)
	cookie := genkey(t)
	standalone := want{mode: "standalone", replicas: 2, store: config.StoreRedis}
	for _, tc := range []struct {
		name  string
		files []string
		set   map[string]any
		want  want
		check func(t *testing.T, r *rendering)
	}{{
		name: "ingress, port 8000, cookie secret",
		set: map[string]any{
			"containerPort": 8000,
			"ingress":       map[string]any{"enabled": true, "className": "nginx", "tlsSecretName": "app-tls"},
			"secrets":       map[string]any{"clientSecret": "s3cret", "cookieSecret": cookie},
		},
		want: standalone,
		check: func(t *testing.T, r *rendering) {
			if r.port != 8000 || r.cfg.Server.Listen != ":8000" {
				t.Errorf("port %d, server.listen %q, want 8000", r.port, r.cfg.Server.Listen)
			}
			if len(r.m.Ingresses) != 1 {
				t.Errorf("want 1 Ingress, have %s", r.m.kinds())
			}
			if string(r.cfg.Session.CookieSecret) != cookie {
				t.Errorf("secrets.cookieSecret did not reach the environment")
			}
		},
	}, {
		name:  "sidecar with redis and 3 replicas",
		files: []string{"values-sidecar.yaml"},
		set: map[string]any{
			"replicaCount": 3,
			"config":       map[string]any{"session": map[string]any{"store": "redis", "redis": map[string]any{"url": wantRedisURL}}},
			"secrets":      map[string]any{"clientSecret": "s3cret", "cookieSecret": cookie, "redisPassword": "pw"},
		},
		want: want{mode: "sidecar", replicas: 3, store: config.StoreRedis},
		check: func(t *testing.T, r *rendering) {
			if r.cfg.Session.Redis.Password != "pw" {
				t.Errorf("secrets.redisPassword did not reach the environment")
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			m := renderDecoded(t, tc.files, tc.set)
			r := &rendering{name: tc.name, want: tc.want, m: m}
			r.inspect(t, df)
			r.checkProbes(t)
			r.checkServices(t)
			r.checkSecurity(t)
			if tc.want.mode == "sidecar" && tc.want.replicas > 1 {
				// checkMode wants no PodDisruptionBudget for a single
				// replica; here there are three.
				if len(r.m.PodDisruptionBudgets) != 1 {
					t.Errorf("want 1 PodDisruptionBudget, have %s", r.m.kinds())
				}
			} else {
				r.checkMode(t)
			}
			tc.check(t, r)
		})
	}
}

// TestHelmExistingSecret: with secrets.existingSecret the chart creates no
// Secret and maps the named one.
func TestHelmExistingSecret(t *testing.T) {
	m := renderDecoded(t, nil, map[string]any{"secrets": map[string]any{"existingSecret": "gatehouse-prod"}})
	if len(m.Secrets) != 0 {
		t.Errorf("Secrets rendered: %s", m.kinds())
	}
	if len(m.Deployments) != 1 {
		t.Fatalf("have %s", m.kinds())
	}
	n := 0
	for _, c := range m.Deployments[0].Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
				n++
				if ref.SecretKeyRef.Name != "gatehouse-prod" {
					t.Errorf("env %s maps Secret %q, want gatehouse-prod", e.Name, ref.SecretKeyRef.Name)
				}
			}
		}
	}
	if n != 3 {
		t.Errorf("%d variables from Secrets, want 3 (client, cookie, Redis password)", n)
	}
}

// TestHelmRefuses: values Gatehouse would refuse, or that would break the
// deployment, fail at `helm install` with a message naming the value.
func TestHelmRefuses(t *testing.T) {
	secret := map[string]any{"secrets": map[string]any{"clientSecret": "s3cret", "cookieSecret": genkey(t)}}
	for _, tc := range []struct {
		name  string
		files []string
		set   map[string]any
		want  string
	}{
		{"no client secret", nil, nil, "secrets.clientSecret: required"},
		// Not generated: a random key would differ at every rendering.
		{"no cookie secret", nil, map[string]any{"secrets": map[string]any{"clientSecret": "s3cret"}}, "secrets.cookieSecret: required"},
		{"memory store, 2 replicas", nil, mergeValues(secret, map[string]any{
			"config": map[string]any{"session": map[string]any{"store": "memory", "redis": nil}},
		}), `replicaCount 2 needs config.session.store "redis" or "cookie"`},
		{"listen set", nil, mergeValues(secret, map[string]any{
			"config": map[string]any{"server": map[string]any{"listen": "127.0.0.1:4180"}},
		}), "config.server.listen: set containerPort instead"},
		{"metrics_listen set", nil, mergeValues(secret, map[string]any{
			"config": map[string]any{"server": map[string]any{"metrics_listen": ":9100"}},
		}), "config.server.metrics_listen: set metrics.enabled and metrics.port instead"},
		{"unknown mode", nil, mergeValues(secret, map[string]any{"mode": "daemonset"}), `mode: "daemonset"`},
		{"sidecar without image", []string{"values-sidecar.yaml"}, mergeValues(secret, map[string]any{
			"sidecar": map[string]any{"app": map[string]any{"image": ""}},
		}), "sidecar.app.image: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderChart(tc.files, tc.set)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
