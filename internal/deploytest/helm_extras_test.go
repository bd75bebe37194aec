package deploytest

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// renderInspected renders the chart with set, decodes it and inspects the
// Deployment (configuration loaded and validated with the real loader).
func renderInspected(t *testing.T, files []string, set map[string]any, w want) *rendering {
	t.Helper()
	base := map[string]any{"secrets": map[string]any{"clientSecret": "s3cret", "cookieSecret": genkey(t)}}
	m := renderDecoded(t, files, mergeValues(base, set))
	r := &rendering{name: t.Name(), want: w, m: m}
	r.inspect(t, parseDockerfile(t))
	r.checkProbes(t)
	r.checkServices(t)
	r.checkSecurity(t)
	return r
}

var standaloneWant = want{mode: "standalone", replicas: 2, store: config.StoreRedis}

// TestHelmExtraEnvAndVolumes: extraEnv reaches the gatehouse container,
// extraVolumes the pod and extraVolumeMounts the container, next to the
// chart's own, so that the files the configuration names can be mounted.
func TestHelmExtraEnvAndVolumes(t *testing.T) {
	r := renderInspected(t, nil, map[string]any{
		"extraEnv": []any{
			map[string]any{"name": "SSL_CERT_FILE", "value": "/etc/gatehouse-ca/ca.crt"},
			// A configuration key, over the rendered file.
			map[string]any{"name": "GATEHOUSE_SERVER_LOG_LEVEL", "value": "debug"},
		},
		"extraVolumes": []any{
			map[string]any{"name": "ca", "configMap": map[string]any{"name": "corporate-ca"}},
			map[string]any{"name": "keys", "secret": map[string]any{"secretName": "gatehouse-keys"}},
		},
		"extraVolumeMounts": []any{
			map[string]any{"name": "ca", "mountPath": "/etc/gatehouse-ca", "readOnly": true},
			map[string]any{"name": "keys", "mountPath": "/etc/gatehouse-keys", "readOnly": true},
		},
		"config": map[string]any{"provider": map[string]any{
			"client_auth": "private_key_jwt", "private_key_file": "/etc/gatehouse-keys/client.pem",
		}},
	}, standaloneWant)
	r.checkMode(t)
	if got := r.env["SSL_CERT_FILE"]; got != "/etc/gatehouse-ca/ca.crt" {
		t.Errorf("SSL_CERT_FILE = %q", got)
	}
	for _, name := range []string{config.EnvClientSecret, config.EnvCookieSecret} {
		if r.env[name] == "" {
			t.Errorf("%s lost next to extraEnv", name)
		}
	}
	pod := r.deploy.Spec.Template.Spec
	for _, v := range []struct{ volume, path string }{{"config", "/etc/gatehouse"}, {"ca", "/etc/gatehouse-ca"}, {"keys", "/etc/gatehouse-keys"}} {
		if !slices.ContainsFunc(pod.Volumes, func(pv corev1.Volume) bool { return pv.Name == v.volume }) {
			t.Errorf("no volume %q in the pod", v.volume)
		}
		if !slices.ContainsFunc(r.gatehouse.VolumeMounts, func(m corev1.VolumeMount) bool {
			return m.Name == v.volume && m.MountPath == v.path && m.ReadOnly
		}) {
			t.Errorf("volume %q not mounted read-only at %s: %v", v.volume, v.path, r.gatehouse.VolumeMounts)
		}
	}
	if r.cfg.Server.LogLevel != "debug" {
		t.Errorf("server.log_level = %q; want GATEHOUSE_SERVER_LOG_LEVEL's debug", r.cfg.Server.LogLevel)
	}
	if r.cfg.Provider.PrivateKeyFile != "/etc/gatehouse-keys/client.pem" {
		t.Errorf("provider.private_key_file = %q", r.cfg.Provider.PrivateKeyFile)
	}

	// The secrets the chart maps cannot be shadowed by extraEnv.
	_, err := renderChart(nil, map[string]any{
		"secrets":  map[string]any{"clientSecret": "s3cret", "cookieSecret": genkey(t)},
		"extraEnv": []any{map[string]any{"name": config.EnvCookieSecret, "value": "x"}},
	})
	if err == nil || !strings.Contains(err.Error(), "extraEnv: "+config.EnvCookieSecret) {
		t.Errorf("extraEnv with %s: %v, want a refusal naming it", config.EnvCookieSecret, err)
	}
}

// TestHelmAutoscaling: the HorizontalPodAutoscaler replaces replicaCount,
// targets the Deployment, and the PodDisruptionBudget and spreading follow
// its minimum; values that cannot work are refused.
func TestHelmAutoscaling(t *testing.T) {
	r := renderInspected(t, nil, map[string]any{
		"autoscaling": map[string]any{"enabled": true, "minReplicas": 3, "maxReplicas": 6, "targetMemoryUtilizationPercentage": 75},
	}, standaloneWant)
	if r.deploy.Spec.Replicas != nil {
		t.Errorf("Deployment replicas %d with autoscaling: the HPA and helm upgrade would fight", *r.deploy.Spec.Replicas)
	}
	if len(r.m.HPAs) != 1 {
		t.Fatalf("want 1 HorizontalPodAutoscaler, have %s", r.m.kinds())
	}
	h := r.m.HPAs[0].Spec
	if h.ScaleTargetRef.Kind != "Deployment" || h.ScaleTargetRef.APIVersion != "apps/v1" || h.ScaleTargetRef.Name != r.deploy.Name {
		t.Errorf("scaleTargetRef %+v, want Deployment %s", h.ScaleTargetRef, r.deploy.Name)
	}
	if h.MinReplicas == nil || *h.MinReplicas != 3 || h.MaxReplicas != 6 {
		t.Errorf("replicas %v..%d, want 3..6", h.MinReplicas, h.MaxReplicas)
	}
	var resources []string
	for _, m := range h.Metrics {
		if m.Resource == nil || m.Resource.Target.AverageUtilization == nil {
			t.Fatalf("metric %+v", m)
		}
		resources = append(resources, string(m.Resource.Name)+"="+itoa(*m.Resource.Target.AverageUtilization))
	}
	if got := strings.Join(resources, ","); got != "cpu=80,memory=75" {
		t.Errorf("metrics %s, want cpu=80,memory=75", got)
	}
	if r.deploy.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().IsZero() {
		t.Errorf("a CPU target without a CPU request cannot be computed")
	}
	if len(r.m.PodDisruptionBudgets) != 1 || len(r.deploy.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
		t.Errorf("minReplicas 3: want a PodDisruptionBudget and spreading, have %s", r.m.kinds())
	}

	secret := map[string]any{"secrets": map[string]any{"clientSecret": "s3cret", "cookieSecret": genkey(t)}}
	for _, tc := range []struct {
		name string
		set  map[string]any
		want string
	}{
		{"memory store", map[string]any{
			"autoscaling":  map[string]any{"enabled": true},
			"config":       map[string]any{"session": map[string]any{"store": "memory", "redis": nil}},
			"replicaCount": 1,
		}, `autoscaling.maxReplicas 10 needs config.session.store "redis"`},
		{"min above max", map[string]any{
			"autoscaling": map[string]any{"enabled": true, "minReplicas": 5, "maxReplicas": 4},
		}, "autoscaling.minReplicas 5 is above autoscaling.maxReplicas 4"},
		{"no target", map[string]any{
			"autoscaling": map[string]any{"enabled": true, "targetCPUUtilizationPercentage": 0},
		}, "autoscaling: set targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := renderChart(nil, mergeValues(secret, tc.set))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template: %v, want %q", err, tc.want)
			}
		})
	}
}

// TestHelmServiceMonitor: the ServiceMonitor selects a Service of its own
// whose port leads to the metrics port of the pods; the application's
// Service still exposes only Gatehouse's http port.
func TestHelmServiceMonitor(t *testing.T) {
	r := renderInspected(t, nil, map[string]any{
		"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}, "interval": "15s"},
	}, standaloneWant)
	r.checkMode(t)
	if len(r.m.ServiceMonitors) != 1 || len(r.m.Services) != 2 {
		t.Fatalf("want 1 ServiceMonitor and 2 Services, have %s", r.m.kinds())
	}
	sm := r.m.ServiceMonitors[0]
	if sm.Labels["release"] != "prometheus" {
		t.Errorf("ServiceMonitor labels %v: serviceMonitor.labels missing", sm.Labels)
	}
	var selected []*corev1.Service
	for _, s := range r.m.Services {
		if len(sm.Spec.Selector.MatchExpressions) == 0 && subset(sm.Spec.Selector.MatchLabels, s.Labels) {
			selected = append(selected, s)
		}
	}
	if len(selected) != 1 {
		t.Fatalf("ServiceMonitor selector %v selects %d Services, want the metrics one", sm.Spec.Selector, len(selected))
	}
	svc := selected[0]
	if !subset(svc.Spec.Selector, r.deploy.Spec.Template.Labels) {
		t.Errorf("metrics Service selector %v does not select the pods", svc.Spec.Selector)
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Path != "/metrics" || sm.Spec.Endpoints[0].Interval != "15s" {
		t.Fatalf("endpoints %+v", sm.Spec.Endpoints)
	}
	i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == sm.Spec.Endpoints[0].Port })
	if i < 0 {
		t.Fatalf("the endpoint's port %q is not a port of Service %s", sm.Spec.Endpoints[0].Port, svc.Name)
	}
	port, ok := containerPort(r.gatehouse, svc.Spec.Ports[i].TargetPort)
	if !ok || port != r.metricsPort || r.metricsPort == 0 {
		t.Errorf("metrics Service targets %s (%d), not server.metrics_listen's port %d", svc.Spec.Ports[i].TargetPort.String(), port, r.metricsPort)
	}

	_, err := renderChart(nil, map[string]any{
		"secrets":        map[string]any{"clientSecret": "s3cret", "cookieSecret": genkey(t)},
		"metrics":        map[string]any{"enabled": false},
		"serviceMonitor": map[string]any{"enabled": true},
	})
	if err == nil || !strings.Contains(err.Error(), "serviceMonitor.enabled needs metrics.enabled") {
		t.Errorf("ServiceMonitor without metrics: %v", err)
	}
}

// TestHelmNetworkPolicy: the policy selects the pods, admits the http port
// from the listed peers, the metrics port only from metricsFrom, and leaves
// egress alone unless rules are given.
func TestHelmNetworkPolicy(t *testing.T) {
	ingressNS := map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "ingress-nginx"}}}
	monitoringNS := map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "monitoring"}}}
	for _, tc := range []struct {
		name          string
		np            map[string]any
		rules         int
		egress        bool
		httpFromPeers int
	}{
		{"open http, no metrics, egress free", map[string]any{"enabled": true}, 1, false, 0},
		{"ingress controller and monitoring, egress rules", map[string]any{
			"enabled": true, "from": []any{ingressNS}, "metricsFrom": []any{monitoringNS},
			"egress": []any{map[string]any{"ports": []any{map[string]any{"port": 53, "protocol": "UDP"}}}},
		}, 2, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := renderInspected(t, nil, map[string]any{"networkPolicy": tc.np}, standaloneWant)
			if len(r.m.NetworkPolicies) != 1 {
				t.Fatalf("want 1 NetworkPolicy, have %s", r.m.kinds())
			}
			np := r.m.NetworkPolicies[0].Spec
			if !subset(np.PodSelector.MatchLabels, r.deploy.Spec.Template.Labels) || len(np.PodSelector.MatchLabels) == 0 {
				t.Errorf("podSelector %v does not select the pods", np.PodSelector)
			}
			if len(np.Ingress) != tc.rules {
				t.Fatalf("%d ingress rules, want %d: %+v", len(np.Ingress), tc.rules, np.Ingress)
			}
			ports := map[string]int32{"http": r.port, "metrics": r.metricsPort}
			for i, rule := range np.Ingress {
				if len(rule.Ports) != 1 || rule.Ports[0].Port == nil || rule.Ports[0].Port.Type != intstr.String {
					t.Fatalf("rule %d ports %+v", i, rule.Ports)
				}
				name := rule.Ports[0].Port.StrVal
				if p, ok := containerPort(r.gatehouse, *rule.Ports[0].Port); !ok || p != ports[name] {
					t.Errorf("rule %d: port %q is not gatehouse's %s port", i, name, name)
				}
				switch {
				case name == "http" && len(rule.From) != tc.httpFromPeers:
					t.Errorf("http from %v, want %d peers", rule.From, tc.httpFromPeers)
				case name == "metrics" && len(rule.From) == 0:
					t.Errorf("metrics open to every peer")
				}
			}
			var types []string
			for _, p := range np.PolicyTypes {
				types = append(types, string(p))
			}
			if got := slices.Contains(types, "Egress"); got != tc.egress || len(np.Egress) > 0 != tc.egress {
				t.Errorf("policyTypes %v, %d egress rules: want egress restricted %v", types, len(np.Egress), tc.egress)
			}
		})
	}
}
