package deploytest

import (
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// checkProbes: liveness GET /healthz and readiness GET /readyz, over HTTP,
// on the port of server.listen.
func (r *rendering) checkProbes(t *testing.T) {
	c := r.gatehouse
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"livenessProbe", c.LivenessProbe, "/healthz"},
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe of %s", p.name, p.path)
			continue
		}
		g := p.probe.HTTPGet
		if g.Path != p.path || g.Host != "" || (g.Scheme != "" && g.Scheme != corev1.URISchemeHTTP) {
			t.Errorf("%s: %+v, want GET http://<pod>%s", p.name, g, p.path)
		}
		if port, ok := containerPort(c, g.Port); !ok || port != r.port {
			t.Errorf("%s: port %s is not the port of server.listen (%d)", p.name, g.Port.String(), r.port)
		}
	}
	if c.StartupProbe != nil && c.StartupProbe.HTTPGet != nil && c.StartupProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("startupProbe: path %q", c.StartupProbe.HTTPGet.Path)
	}
	if l := c.Lifecycle; l != nil && l.PreStop != nil {
		if l.PreStop.Sleep == nil {
			t.Errorf("preStop: want a sleep action (the image has no shell)")
		}
		grace := int64(30)
		if g := r.deploy.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
			grace = *g
		}
		if sleep, drain := l.PreStop.Sleep.Seconds, int64(r.cfg.Server.ShutdownTimeout.Seconds()); sleep+drain >= grace {
			t.Errorf("preStop sleep %ds + shutdown_timeout %ds does not fit terminationGracePeriodSeconds %d", sleep, drain, grace)
		}
	}
}

// checkServices: selectors match the pod, and every Service and Ingress
// leads to gatehouse's port, never to another container.
func (r *rendering) checkServices(t *testing.T) {
	labels := r.deploy.Spec.Template.Labels
	if sel := r.deploy.Spec.Selector; sel == nil || len(sel.MatchExpressions) > 0 || !subset(sel.MatchLabels, labels) {
		t.Errorf("Deployment selector %v does not select its pods %v", sel, labels)
	}
	// The metrics Service of serviceMonitor.enabled is checked by its test.
	services := slices.DeleteFunc(slices.Clone(r.m.Services), func(s *corev1.Service) bool {
		return s.Labels["app.kubernetes.io/component"] == "metrics"
	})
	if len(services) != 1 {
		t.Fatalf("want 1 Service, have %s", r.m.kinds())
	}
	svc := services[0]
	if len(svc.Spec.Selector) == 0 || !subset(svc.Spec.Selector, labels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, labels)
	}
	if len(svc.Spec.Ports) == 0 {
		t.Errorf("Service %s has no port", svc.Name)
	}
	for _, sp := range svc.Spec.Ports {
		target := sp.TargetPort
		if target.Type == intstr.Int && target.IntVal == 0 {
			target = intstr.FromInt32(sp.Port)
		}
		if port, ok := containerPort(r.gatehouse, target); !ok || port != r.port {
			t.Errorf("Service port %d targets %s, not gatehouse's port %d", sp.Port, target.String(), r.port)
		}
		for _, o := range r.others {
			if _, ok := containerPort(&o, target); ok {
				t.Errorf("Service port %d reaches container %q around gatehouse", sp.Port, o.Name)
			}
		}
	}
	for _, ing := range r.m.Ingresses {
		u, _ := url.Parse(r.cfg.Server.PublicURL)
		for _, rule := range ing.Spec.Rules {
			if rule.Host != u.Hostname() {
				t.Errorf("Ingress host %q is not public_url's %q", rule.Host, u.Hostname())
			}
			for _, p := range rule.HTTP.Paths {
				b := p.Backend.Service
				if b == nil || b.Name != svc.Name || !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool {
					return sp.Name == b.Port.Name && b.Port.Name != "" || sp.Port == b.Port.Number
				}) {
					t.Errorf("Ingress path %s: backend %+v is not a port of Service %s", p.Path, b, svc.Name)
				}
			}
		}
		if len(ing.Spec.TLS) == 0 || !slices.Contains(ing.Spec.TLS[0].Hosts, u.Hostname()) {
			t.Errorf("Ingress: want TLS for %s", u.Hostname())
		}
	}
}

// checkSecurity: non-root, no privilege escalation, read-only root file
// system, no capabilities, RuntimeDefault seccomp, resource requests, and no
// service account token, for every container of the pod.
func (r *rendering) checkSecurity(t *testing.T) {
	pod := &r.deploy.Spec.Template.Spec
	psc := pod.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod seccompProfile %v, want RuntimeDefault", psc.SeccompProfile)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("pod automountServiceAccountToken is not false")
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Errorf("pod shares a host namespace")
	}
	if name := pod.ServiceAccountName; name != "" && name != "default" {
		i := slices.IndexFunc(r.m.ServiceAccounts, func(sa *corev1.ServiceAccount) bool { return sa.Name == name })
		if i < 0 {
			t.Errorf("serviceAccountName %q is not rendered", name)
		} else if a := r.m.ServiceAccounts[i].AutomountServiceAccountToken; a == nil || *a {
			t.Errorf("ServiceAccount %s: automountServiceAccountToken is not false", name)
		}
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("container %s: no securityContext", c.Name)
			continue
		}
		nonRoot, user := sc.RunAsNonRoot, sc.RunAsUser
		if nonRoot == nil {
			nonRoot = psc.RunAsNonRoot
		}
		if user == nil {
			user = psc.RunAsUser
		}
		switch {
		case nonRoot == nil || !*nonRoot:
			t.Errorf("container %s: runAsNonRoot is not true", c.Name)
		case user == nil || *user == 0:
			t.Errorf("container %s: want a numeric non-root runAsUser (not every image has one)", c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("container %s: readOnlyRootFilesystem is not true", c.Name)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("container %s: privileged", c.Name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("container %s: capabilities %v, want drop ALL and add none", c.Name, sc.Capabilities)
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := c.Resources.Requests[res]; !ok || q.IsZero() {
				t.Errorf("container %s: no %s request", c.Name, res)
			}
		}
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok || q.IsZero() {
			t.Errorf("container %s: no memory limit", c.Name)
		}
	}
}

// checkMode checks what differs between the modes: replicas, session store,
// disruption budget, and, for a sidecar, the application on the loopback
// interface behind gatehouse.
func (r *rendering) checkMode(t *testing.T) {
	w := r.want
	replicas := int32(1)
	if p := r.deploy.Spec.Replicas; p != nil {
		replicas = *p
	}
	if replicas != w.replicas {
		t.Errorf("replicas %d, want %d", replicas, w.replicas)
	}
	s := r.cfg.Session
	if s.Store != w.store {
		t.Errorf("session.store %q, want %q", s.Store, w.store)
	}
	if s.Store == config.StoreMemory && replicas > 1 {
		t.Errorf("session.store memory with %d replicas: a login started on one replica cannot finish on another", replicas)
	}
	if s.Store == config.StoreCookie && w.mode == "sidecar" && s.Redis.Configured() {
		t.Errorf("the sidecar recipe's cookie store names Redis %q: it is meant to need none", s.Redis.URL)
	}
	if s.Store == config.StoreRedis && s.Redis.URL != wantRedisURL {
		t.Errorf("session.redis.url %q, want %q", s.Redis.URL, wantRedisURL)
	}
	if ru := r.deploy.Spec.Strategy.RollingUpdate; replicas > 1 && (ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0) {
		t.Errorf("rolling update %+v: want maxUnavailable 0", ru)
	}

	switch w.mode {
	case "standalone":
		if len(r.others) != 0 {
			t.Errorf("standalone pod has other containers: %v", r.others)
		}
		if len(r.m.PodDisruptionBudgets) != 1 {
			t.Fatalf("want 1 PodDisruptionBudget, have %s", r.m.kinds())
		}
		pdb := r.m.PodDisruptionBudgets[0].Spec
		if pdb.Selector == nil || !subset(pdb.Selector.MatchLabels, r.deploy.Spec.Template.Labels) {
			t.Errorf("PodDisruptionBudget selector %v does not select the pods", pdb.Selector)
		}
		if pdb.MinAvailable == nil || pdb.MinAvailable.IntValue() < 1 || int32(pdb.MinAvailable.IntValue()) >= replicas {
			t.Errorf("PodDisruptionBudget minAvailable %v, want at least 1 and below replicas %d", pdb.MinAvailable, replicas)
		}
	case "sidecar":
		if len(r.others) != 1 {
			t.Fatalf("sidecar pod: want the application and gatehouse, have %d other containers", len(r.others))
		}
		if len(r.m.PodDisruptionBudgets) != 0 {
			t.Errorf("a PodDisruptionBudget for one replica blocks node drains")
		}
		app := r.others[0]
		if len(app.Ports) != 0 {
			t.Errorf("application container %s declares ports %v: only gatehouse's is open", app.Name, app.Ports)
		}
		if len(r.cfg.Upstreams) != 1 {
			t.Fatalf("upstreams %v, want the application", r.cfg.Upstreams)
		}
		u, err := url.Parse(r.cfg.Upstreams[0].URL)
		if err != nil {
			t.Fatal(err)
		}
		if a, err := netip.ParseAddr(u.Hostname()); err != nil || !a.IsLoopback() {
			t.Errorf("upstream %s: want the application on a loopback address", u)
		}
		// The application is told to listen on exactly that address.
		if !slices.ContainsFunc(app.Args, func(a string) bool { return strings.HasSuffix(a, "="+u.Host) || a == u.Host }) {
			t.Errorf("application args %q do not listen on %s, the upstream", app.Args, u.Host)
		}
	default:
		t.Fatalf("unknown mode %q", w.mode)
	}
}

// containerPort resolves a port reference (a name or a number) to one of c's
// declared container ports.
