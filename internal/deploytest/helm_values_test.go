package deploytest

import (
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"helm.sh/helm/v3/pkg/chartutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// valuesYAML reads a values file's text as `helm install -f` does: through
// JSON, so every number arrives as a float64.
func valuesYAML(t *testing.T, text string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValues([]byte(text))
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	return v
}

// TestHelmValueTypes renders the chart from a values file holding whole
// numbers, durations and lists, and loads the ConfigMap with the real loader
// and validator. On the old chart, `gc_min_heap_mib: 32` was written 32.0 and
// Gatehouse refused to start.
func TestHelmValueTypes(t *testing.T) {
	df := parseDockerfile(t)
	vals := valuesYAML(t, `
replicaCount: 3
containerPort: 8000
metrics:
  port: 9100
secrets:
  clientSecret: s3cret
  cookieSecret: `+genkey(t)+`
config:
  server:
    gc_min_heap_mib: 32
    shutdown_timeout: 20s
    trusted_proxies: [10.0.0.0/8, 192.168.0.0/16]
  provider:
    scopes: [openid, email]
    timeout: 5s
  session:
    lifetime: 8h
  limits:
    flows_per_browser: 50
    flows_per_client: 2000
  bearer:
    introspection_cache_size: 20000
  rest_api:
    max_attempts: 3
  upstream:
    - name: app
      path_prefix: /
      url: http://app:8080
      timeout: 30s
    - name: api
      path_prefix: /api
      url: http://api:8080
      allowed_groups: [admins, "42"]
      skip_auth: ["GET /api/health"]
`)
	m := renderDecoded(t, nil, vals)
	r := &rendering{name: "values types", want: want{mode: "standalone", replicas: 3, store: config.StoreRedis}, m: m}
	r.inspect(t, df) // config.Parse and Validate, or Fatal
	r.checkMode(t)
	c := r.cfg
	for _, g := range []struct {
		key       string
		got, want any
	}{
		{"server.listen", c.Server.Listen, ":8000"},
		{"server.metrics_listen", c.Server.MetricsListen, ":9100"},
		{"server.gc_min_heap_mib", c.Server.GCMinHeapMiB, 32},
		{"server.shutdown_timeout", c.Server.ShutdownTimeout.Duration, 20 * time.Second},
		{"server.trusted_proxies", strings.Join(c.Server.TrustedProxies, ","), "10.0.0.0/8,192.168.0.0/16"},
		{"provider.scopes", strings.Join(c.Provider.Scopes, ","), "openid,email"},
		{"provider.timeout", c.Provider.Timeout.Duration, 5 * time.Second},
		{"session.lifetime", c.Session.Lifetime.Duration, 8 * time.Hour},
		{"limits.flows_per_browser", c.Limits.FlowsPerBrowser, 50},
		{"limits.flows_per_client", c.Limits.FlowsPerClient, 2000},
		{"bearer.introspection_cache_size", c.Bearer.IntrospectionCacheSize, 20000},
		{"rest_api.max_attempts", c.RESTAPI.MaxAttempts, 3},
		{"upstream", len(c.Upstreams), 2},
	} {
		if g.got != g.want {
			t.Errorf("%s = %v, want %v", g.key, g.got, g.want)
		}
	}
	if len(c.Upstreams) == 2 {
		if got := c.Upstreams[0].Timeout.Duration; got != 30*time.Second {
			t.Errorf("upstream[0].timeout = %v, want 30s", got)
		}
		if got := strings.Join(c.Upstreams[1].AllowedGroups, ","); got != "admins,42" {
			t.Errorf("upstream[1].allowed_groups = %q, want the strings admins,42", got)
		}
	}
}

// TestHelmNumbersKeepTheirKind renders numbers of every shape at every depth
// and decodes the TOML as it is written: whole numbers are integers, numbers
// with a fraction stay floats, numeric strings stay strings.
func TestHelmNumbersKeepTheirKind(t *testing.T) {
	vals := valuesYAML(t, `
secrets: {clientSecret: s3cret, cookieSecret: `+genkey(t)+`}
config:
  x_numbers:
    whole: 32
    fraction: 1.5
    exponent: 1e3
    negative: -7
    text: "12"
    list: [1, 2.5, "3"]
    tables: [{count: 4, f: 0.25, deeper: {m: 5}}]
    lists: [[6, 7.5]]
`)
	m := renderDecoded(t, nil, vals)
	text := m.ConfigMaps[0].Data["gatehouse.toml"]
	var doc struct {
		X map[string]any `toml:"x_numbers"`
	}
	if _, err := toml.Decode(text, &doc); err != nil {
		t.Fatalf("rendered TOML: %v\n%s", err, text)
	}
	x := doc.X
	tables, _ := x["tables"].([]map[string]any)
	lists, _ := x["lists"].([]any)
	if len(tables) != 1 || len(lists) != 1 {
		t.Fatalf("x_numbers = %#v\n%s", x, text)
	}
	inner, _ := lists[0].([]any)
	deeper, _ := tables[0]["deeper"].(map[string]any)
	list, _ := x["list"].([]any)
	if len(inner) != 2 || len(list) != 3 {
		t.Fatalf("x_numbers = %#v\n%s", x, text)
	}
	for _, g := range []struct {
		name      string
		got, want any
	}{
		{"whole", x["whole"], int64(32)},
		{"fraction", x["fraction"], 1.5},
		{"exponent", x["exponent"], int64(1000)},
		{"negative", x["negative"], int64(-7)},
		{"text", x["text"], "12"},
		{"list[0]", list[0], int64(1)},
		{"list[1]", list[1], 2.5},
		{"list[2]", list[2], "3"},
		{"tables[0].count", tables[0]["count"], int64(4)},
		{"tables[0].f", tables[0]["f"], 0.25},
		{"tables[0].deeper.m", deeper["m"], int64(5)},
		{"lists[0][0]", inner[0], int64(6)},
		{"lists[0][1]", inner[1], 7.5},
	} {
		if g.got != g.want {
			t.Errorf("%s = %#v (%T), want %#v (%T)\n%s", g.name, g.got, g.got, g.want, g.want, text)
		}
	}
	// The gateway names the unknown table, not a type.
	if _, err := config.Parse([]byte(text), nil); err == nil || !strings.Contains(err.Error(), "x_numbers") {
		t.Errorf("config.Parse: %v, want the unknown key x_numbers named", err)
	}
}

// secretsCluster is a cluster for the template function lookup, holding the
// given Secrets.
type secretsCluster struct{ client dynamic.Interface }

func newSecretsCluster(t *testing.T, secrets ...*corev1.Secret) secretsCluster {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	objs := make([]runtime.Object, len(secrets))
	for i, s := range secrets {
		objs[i] = s
	}
	return secretsCluster{dynamicfake.NewSimpleDynamicClient(scheme, objs...)}
}

func (c secretsCluster) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	if apiVersion != "v1" || kind != "Secret" {
		return nil, false, nil
	}
	return c.client.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}), true, nil
}

// TestHelmCookieSecretStable: without secrets.cookieSecret, an upgrade keeps
// the key of the Secret in the cluster, and a rendering without a cluster
// (helm template, GitOps) fails instead of inventing a new key each time.
func TestHelmCookieSecretStable(t *testing.T) {
	old := genkey(t)
	cluster := newSecretsCluster(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "gatehouse", Namespace: "gatehouse"},
		Data:       map[string][]byte{"client-secret": []byte("old"), "cookie-secret": []byte(old)},
	})
	set := map[string]any{"secrets": map[string]any{"clientSecret": "s3cret"}}
	var annotations []string
	for i := range 2 {
		out, err := renderChartIn(cluster, nil, set)
		if err != nil {
			t.Fatalf("helm upgrade %d: %v", i, err)
		}
		m, err := decodeManifests(out)
		if err != nil {
			t.Fatal(err)
		}
		s := m.secret("gatehouse")
		if s == nil {
			t.Fatalf("no Secret: %s", m.kinds())
		}
		if got := string(s.Data["cookie-secret"]); got != old {
			t.Errorf("upgrade %d: cookie-secret %q, want the cluster's %q", i, got, old)
		}
		annotations = append(annotations, m.Deployments[0].Spec.Template.Annotations["checksum/secret"])
	}
	if annotations[0] == "" || annotations[0] != annotations[1] {
		t.Errorf("checksum/secret %q then %q: want the same, non-empty", annotations[0], annotations[1])
	}

	// Another namespace's Secret of the same name is not ours.
	other := newSecretsCluster(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "gatehouse", Namespace: "elsewhere"},
		Data:       map[string][]byte{"cookie-secret": []byte(old)},
	})
	if _, err := renderChartIn(other, nil, set); err == nil || !strings.Contains(err.Error(), "secrets.cookieSecret: required") {
		t.Errorf("render with no Secret of ours: %v, want secrets.cookieSecret: required", err)
	}
}

// TestHelmChecksums: the pod template's checksum/config and checksum/secret
// annotations change with the configuration and the secrets, and only then,
// so that `helm upgrade` rolls the pods when (and only when) they must reload.
func TestHelmChecksums(t *testing.T) {
	cookie := genkey(t)
	base := map[string]any{"secrets": map[string]any{"clientSecret": "s3cret", "cookieSecret": cookie}}
	annotations := func(set map[string]any) map[string]string {
		t.Helper()
		m := renderDecoded(t, nil, set)
		return m.Deployments[0].Spec.Template.Annotations
	}
	a := annotations(base)
	if a["checksum/config"] == "" || a["checksum/secret"] == "" {
		t.Fatalf("annotations %v: want checksum/config and checksum/secret", a)
	}
	same := annotations(base)
	newSecret := annotations(mergeValues(base, map[string]any{"secrets": map[string]any{"clientSecret": "rotated"}}))
	newCookie := annotations(mergeValues(base, map[string]any{"secrets": map[string]any{"cookieSecret": genkey(t)}}))
	newConfig := annotations(mergeValues(base, map[string]any{"config": map[string]any{"server": map[string]any{"log_level": "debug"}}}))
	existing := annotations(map[string]any{"secrets": map[string]any{"existingSecret": "mine"}})
	for _, c := range []struct {
		name         string
		got, want    string
		shouldDiffer bool
	}{
		{"same values, config", same["checksum/config"], a["checksum/config"], false},
		{"same values, secret", same["checksum/secret"], a["checksum/secret"], false},
		{"client secret rotated", newSecret["checksum/secret"], a["checksum/secret"], true},
		{"client secret rotated, config", newSecret["checksum/config"], a["checksum/config"], false},
		{"cookie secret rotated", newCookie["checksum/secret"], a["checksum/secret"], true},
		{"config changed", newConfig["checksum/config"], a["checksum/config"], true},
		{"config changed, secret", newConfig["checksum/secret"], a["checksum/secret"], false},
	} {
		if (c.got != c.want) != c.shouldDiffer {
			t.Errorf("%s: checksum %q vs %q, want them to differ: %v", c.name, c.got, c.want, c.shouldDiffer)
		}
	}
	if _, ok := existing["checksum/secret"]; ok {
		t.Errorf("checksum/secret with secrets.existingSecret: the chart cannot know the Secret's content")
	}
}
