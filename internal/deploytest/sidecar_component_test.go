package deploytest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestSidecarComponent adds Gatehouse to an existing application with the
// kustomize Component of deploy/kubernetes/sidecar-component, as
// docs/deployment.md tells, and checks the result like the example
// deployments: the annotated Deployment gains the gatehouse container and
// its configuration, the annotated Service leads only to Gatehouse, and
// nothing else changes.
func TestSidecarComponent(t *testing.T) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join("testdata", "sidecar-component"))
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	out, err := rm.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	var shop, worker *appsv1.Deployment
	for _, d := range m.Deployments {
		switch d.Name {
		case "shop":
			shop = d
		case "worker":
			worker = d
		}
	}
	if shop == nil || worker == nil {
		t.Fatalf("have %s", m.kinds())
	}
	if c := worker.Spec.Template.Spec.Containers; len(c) != 1 || len(worker.Spec.Template.Spec.Volumes) != 0 {
		t.Errorf("the Deployment without the annotation was changed: %+v", c)
	}
	m.Deployments = []*appsv1.Deployment{shop}
	r := &rendering{name: "sidecar-component", m: m,
		want: want{mode: "sidecar", replicas: 1, store: config.StoreMemory, placeholders: true}}
	r.inspect(t, parseDockerfile(t))
	r.checkProbes(t)
	r.checkServices(t)
	r.checkSecurity(t)
	r.checkMode(t)
	// The generated ConfigMap's hashed name is what the pod mounts, so a
	// configuration change rolls the pods.
	for _, v := range shop.Spec.Template.Spec.Volumes {
		if v.Name == "gatehouse-config" && (v.ConfigMap == nil || !strings.HasPrefix(v.ConfigMap.Name, "gatehouse-config-")) {
			t.Errorf("volume gatehouse-config mounts %+v, want the generated gatehouse-config-<hash>", v.ConfigMap)
		}
	}
	if svc := m.Services[0]; len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.StrVal != "http" {
		t.Errorf("Service ports %+v: want only Gatehouse's http port", svc.Spec.Ports)
	}
}
