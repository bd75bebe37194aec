package deploytest

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The values every example configuration uses.
const (
	wantIssuer    = "https://as.example.com"
	wantPublicURL = "https://app.example.com"
	wantRedisURL  = "redis://redis:6379/0"
	wantImage     = "ghcr.io/gatehouse-dev/gatehouse:0.1.0"
	gatehouseName = "gatehouse" // the container's name
)

// want describes the deployment a rendering must hold.
type want struct {
	mode     string // "standalone" or "sidecar"
	replicas int32
	store    string // session.store
	// placeholders: the Secret holds placeholder values that Gatehouse must
	// refuse (session.cookie_secret) until they are replaced.
	placeholders bool
}

// rendering is one rendered deployment, decoded and inspected.
type rendering struct {
	name      string
	want      want
	m         *manifests
	deploy    *appsv1.Deployment
	gatehouse *corev1.Container
	others    []corev1.Container // the pod's other containers
	// cli is the gatehouse container's command line after the entrypoint.
	cli []string
	// configPath is the value of -config; configTOML the file mounted there.
	configPath string
	configTOML []byte
	// env is the container's environment with secrets resolved (placeholders
	// replaced by usable values); cfg the configuration loaded with it.
	env         map[string]string
	cfg         *config.Config
	port        int32 // the container port of server.listen
	metricsPort int32 // the container port of server.metrics_listen, if set
}

// renderings renders the four example deployments: both kustomizations and
// the chart with its default values and with values-sidecar.yaml.
func renderings(t *testing.T) []*rendering {
	t.Helper()
	helm := func(files ...string) []byte {
		out, err := renderChart(files, map[string]any{"secrets": map[string]any{"clientSecret": "s3cret", "cookieSecret": genkey(t)}})
		if err != nil {
			t.Fatalf("helm template: %v", err)
		}
		return out
	}
	standalone := want{mode: "standalone", replicas: 2, store: config.StoreRedis}
	sidecar := want{mode: "sidecar", replicas: 1, store: config.StoreCookie}
	placeholders := func(w want) want { w.placeholders = true; return w }
	var rs []*rendering
	for _, v := range []struct {
		name   string
		stream []byte
		want   want
	}{
		{"kustomize/standalone", renderKustomization(t, "standalone"), placeholders(standalone)},
		{"kustomize/sidecar", renderKustomization(t, "sidecar"), placeholders(sidecar)},
		{"helm/default-values", helm(), standalone},
		{"helm/values-sidecar", helm("values-sidecar.yaml"), sidecar},
	} {
		m, err := decodeManifests(v.stream)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		rs = append(rs, &rendering{name: v.name, want: v.want, m: m})
	}
	return rs
}

// TestManifests renders every example deployment and checks it against the
// binary: image command line, probes, port, configuration and secrets,
// security context, and the shape of its mode.
func TestManifests(t *testing.T) {
	df := parseDockerfile(t)
	for _, r := range renderings(t) {
		t.Run(r.name, func(t *testing.T) {
			r.inspect(t, df)
			if df.expose != itoa(r.port) {
				t.Errorf("the image exposes %s, the container port is %d", df.expose, r.port)
			}
			r.checkProbes(t)
			r.checkServices(t)
			r.checkSecurity(t)
			r.checkMode(t)
		})
	}
}

// inspect finds the Deployment and the gatehouse container, checks the
// command line against the image's, and loads the mounted configuration with
// the real loader and the secrets the Deployment maps into the environment.
func (r *rendering) inspect(t *testing.T, df *dockerfile) {
	if len(r.m.Deployments) != 1 {
		t.Fatalf("want 1 Deployment, have %s", r.m.kinds())
	}
	r.deploy = r.m.Deployments[0]
	pod := &r.deploy.Spec.Template.Spec
	for i := range pod.Containers {
		if pod.Containers[i].Name == gatehouseName {
			r.gatehouse = &pod.Containers[i]
		} else {
			r.others = append(r.others, pod.Containers[i])
		}
	}
	if r.gatehouse == nil {
		t.Fatalf("Deployment %s has no container %q", r.deploy.Name, gatehouseName)
	}
	c := r.gatehouse
	if c.Image != wantImage {
		t.Errorf("image %q, want %q", c.Image, wantImage)
	}

	// The image's ENTRYPOINT runs; the arguments are the image's CMD, made
	// explicit: serve -config FILE.
	if len(c.Command) != 0 && !slices.Equal(c.Command, df.entrypoint) {
		t.Errorf("command %q overrides the image's entrypoint %q", c.Command, df.entrypoint)
	}
	if !slices.Equal(c.Args, df.cmd) {
		t.Errorf("args %q, want the image's CMD %q", c.Args, df.cmd)
	}
	r.cli = c.Args
	if len(r.cli) != 3 || r.cli[0] != "serve" || r.cli[1] != "-config" {
		t.Fatalf("args %q, want serve -config FILE", r.cli)
	}
	r.configPath = r.cli[2]
	r.configTOML = r.mountedConfig(t)

	// The file holds no secret; the environment brings them.
	if bare, err := config.Parse(r.configTOML, nil); err != nil {
		t.Fatalf("config.Parse(%s): %v\n%s", r.configPath, err, r.configTOML)
	} else if bare.Provider.ClientSecret != "" || bare.Session.CookieSecret != "" || bare.Session.Redis.Password != "" {
		t.Errorf("the configuration file holds a secret; map it from the Secret into the environment")
	}
	r.env = r.containerEnv(t)
	for _, name := range []string{config.EnvClientSecret, config.EnvCookieSecret} {
		if r.env[name] == "" {
			t.Errorf("environment variable %s is not set from a Secret", name)
		}
	}
	cfg, err := config.Parse(r.configTOML, r.getenv)
	if err != nil {
		t.Fatalf("config.Parse: %v", err)
	}
	err = cfg.Validate()
	if r.want.placeholders {
		// The example Secret's placeholders stop the gateway at start-up...
		if got := problemKeys(err); !slices.Equal(got, []string{"session.cookie_secret"}) {
			t.Errorf("with the placeholder secrets, Validate reported %q (%v), want only session.cookie_secret", got, err)
		}
		// ...and a real key is all it takes.
		r.env[config.EnvCookieSecret] = genkey(t)
		if cfg, err = config.Parse(r.configTOML, r.getenv); err != nil {
			t.Fatalf("config.Parse: %v", err)
		}
		err = cfg.Validate()
	}
	if err != nil {
		t.Fatalf("Validate: %v\n%s", err, r.configTOML)
	}
	r.cfg = cfg

	// server.listen: every interface (the kubelet probes the pod's address),
	// on the port the container declares.
	_, port, err := net.SplitHostPort(cfg.Server.Listen)
	if err != nil {
		t.Fatalf("server.listen %q: %v", cfg.Server.Listen, err)
	}
	r.port = r.namedPort(t, "http", cfg.Server.Listen, "server.listen")
	if itoa(r.port) != port {
		t.Errorf("container port \"http\" %d is not the port of server.listen %q", r.port, cfg.Server.Listen)
	}
	// Metrics, when enabled, on a port of their own, declared for scrapers.
	want := 1
	if ml := cfg.Server.MetricsListen; ml != "" {
		want++
		r.metricsPort = r.namedPort(t, "metrics", ml, "server.metrics_listen")
		if a := r.deploy.Spec.Template.Annotations; a["prometheus.io/scrape"] == "true" && a["prometheus.io/port"] != itoa(r.metricsPort) {
			t.Errorf("annotation prometheus.io/port %q, want %d (server.metrics_listen)", a["prometheus.io/port"], r.metricsPort)
		}
	}
	if len(c.Ports) != want {
		t.Errorf("container ports %v, want %d (http, and metrics if server.metrics_listen is set)", c.Ports, want)
	}

	if cfg.Provider.Issuer != wantIssuer || cfg.Server.PublicURL != wantPublicURL {
		t.Errorf("issuer %q public_url %q, want %q %q", cfg.Provider.Issuer, cfg.Server.PublicURL, wantIssuer, wantPublicURL)
	}
	if u, _ := url.Parse(cfg.Server.PublicURL); u.Scheme != "https" {
		t.Errorf("public_url %q: want https (Secure, __Host- cookies)", cfg.Server.PublicURL)
	}
}

// namedPort returns the gatehouse container's TCP port called name, which
// must be the port of addr (the value of key), on every interface: the
// kubelet, the Service and scrapers reach the pod's address.
func (r *rendering) namedPort(t *testing.T, name, addr, key string) int32 {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s %q: %v", key, addr, err)
	}
	if a, err := netip.ParseAddr(host); host != "" && (err != nil || !a.IsUnspecified()) {
		t.Errorf("%s %q: want every interface (\":%s\"); the pod's address must reach it", key, addr, port)
	}
	for _, p := range r.gatehouse.Ports {
		if p.Name == name {
			if itoa(p.ContainerPort) != port || p.Protocol != corev1.ProtocolTCP {
				t.Errorf("container port %q %+v is not TCP port %s of %s %q", name, p, port, key, addr)
			}
			return p.ContainerPort
		}
	}
	t.Fatalf("no container port %q for %s %q", name, key, addr)
	return 0
}

// mountedConfig returns the file at r.configPath in the container: the key
// of the ConfigMap volume mounted on its directory.
func (r *rendering) mountedConfig(t *testing.T) []byte {
	t.Helper()
	dir, file := path.Split(r.configPath)
	dir = path.Clean(dir)
	var vm *corev1.VolumeMount
	for i, m := range r.gatehouse.VolumeMounts {
		if m.MountPath == dir && m.SubPath == "" {
			vm = &r.gatehouse.VolumeMounts[i]
		}
	}
	if vm == nil {
		t.Fatalf("no volume is mounted at %s (the directory of -config %s)", dir, r.configPath)
	}
	if !vm.ReadOnly {
		t.Errorf("volume mount %s is not readOnly", dir)
	}
	var vol *corev1.Volume
	for i, v := range r.deploy.Spec.Template.Spec.Volumes {
		if v.Name == vm.Name {
			vol = &r.deploy.Spec.Template.Spec.Volumes[i]
		}
	}
	if vol == nil || vol.ConfigMap == nil {
		t.Fatalf("volume %q is not a ConfigMap volume", vm.Name)
	}
	key := file
	if len(vol.ConfigMap.Items) > 0 {
		key = ""
		for _, it := range vol.ConfigMap.Items {
			if it.Path == file {
				key = it.Key
			}
		}
	}
	cm := r.m.configMap(vol.ConfigMap.Name)
	if cm == nil {
		t.Fatalf("volume %q names ConfigMap %q, which is not rendered (have %s)", vm.Name, vol.ConfigMap.Name, r.m.kinds())
	}
	data, ok := cm.Data[key]
	if !ok || key == "" {
		t.Fatalf("ConfigMap %s has no key for %s", cm.Name, file)
	}
	return []byte(data)
}

// containerEnv resolves the gatehouse container's environment: literal values
// and Secret keys. A missing Secret or key is an error unless optional.
func (r *rendering) containerEnv(t *testing.T) map[string]string {
	t.Helper()
	if len(r.gatehouse.EnvFrom) > 0 {
		t.Errorf("envFrom is not checked here; map each variable with env")
	}
	env := map[string]string{}
	for _, e := range r.gatehouse.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			optional := ref.Optional != nil && *ref.Optional
			s := r.m.secret(ref.Name)
			if s == nil {
				t.Errorf("env %s: Secret %q is not rendered (have %s)", e.Name, ref.Name, r.m.kinds())
				continue
			}
			if v, ok := s.Data[ref.Key]; ok {
				env[e.Name] = string(v)
			} else if v, ok := s.StringData[ref.Key]; ok {
				env[e.Name] = v
			} else if !optional {
				t.Errorf("env %s: Secret %q has no key %q", e.Name, ref.Name, ref.Key)
			}
		default:
			t.Errorf("env %s: only literal values and secretKeyRef are checked", e.Name)
		}
	}
	return env
}

func (r *rendering) getenv(name string) string { return r.env[name] }

func containerPort(c *corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if p.Type == intstr.String && cp.Name == p.StrVal || p.Type == intstr.Int && cp.ContainerPort == p.IntVal {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

// subset reports whether every label of sel is in labels.
func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// problemKeys returns the key path of each problem Validate reported.
func problemKeys(err error) []string {
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var keys []string
	for _, e := range errs {
		k, _, _ := strings.Cut(e.Error(), ": ")
		keys = append(keys, k)
	}
	return keys
}

// genkey returns a new cookie secret, as `gatehouse genkey` prints it.
func genkey(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
