package deploytest

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// deployDir is the repository's deploy/ directory, seen from this package.
var deployDir = filepath.Join("..", "..", "deploy")

// chartDir is the Helm chart.
var chartDir = filepath.Join(deployDir, "helm", "gatehouse")

// renderKustomization builds the kustomization in deploy/kubernetes/name, as
// `kubectl kustomize` does, and returns the YAML stream.
func renderKustomization(t *testing.T, name string) []byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(deployDir, "kubernetes", name))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", name, err)
	}
	out, err := rm.AsYaml()
	if err != nil {
		t.Fatalf("kustomize build %s: %v", name, err)
	}
	return out
}

// renderChart renders the chart as `helm template gatehouse deploy/helm/gatehouse
// -f FILE... --set ...` does: the values files in order, then set, each
// merged over the previous, then coalesced with the chart's values.yaml.
// Rendering is strict (a reference to a missing value is an error).
func renderChart(valueFiles []string, set map[string]any) ([]byte, error) {
	return renderChartIn(nil, valueFiles, set)
}

// renderDecoded renders the chart as renderChart does and decodes the
// manifests; either failing stops the test.
func renderDecoded(t *testing.T, valueFiles []string, set map[string]any) *manifests {
	t.Helper()
	out, err := renderChart(valueFiles, set)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	m, err := decodeManifests(out)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// renderChartIn renders the chart as renderChart does, with the template
// function lookup reading from cluster (nil: no cluster, as `helm template`).
func renderChartIn(cluster engine.ClientProvider, valueFiles []string, set map[string]any) ([]byte, error) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return nil, err
	}
	vals := map[string]any{}
	for _, f := range valueFiles {
		v, err := chartutil.ReadValuesFile(filepath.Join(chartDir, f))
		if err != nil {
			return nil, err
		}
		vals = mergeValues(vals, v)
	}
	vals = mergeValues(vals, set)
	rv, err := chartutil.ToRenderValues(chrt, vals, chartutil.ReleaseOptions{
		Name: "gatehouse", Namespace: "gatehouse", Revision: 1, IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	var files map[string]string
	if cluster == nil {
		files, err = engine.Engine{Strict: true}.Render(chrt, rv)
	} else {
		files, err = engine.RenderWithClientProvider(chrt, rv, cluster)
	}
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(filepath.Base(name), "_") {
			continue
		}
		b.WriteString("---\n# Source: " + name + "\n" + files[name] + "\n")
	}
	return []byte(b.String()), nil
}

// mergeValues merges src over dst as Helm's command line merges values files
// and --set: tables merge key by key, anything else replaces.
func mergeValues(dst, src map[string]any) map[string]any {
	out := maps.Clone(dst)
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(dv, sv)
				continue
			}
		}
		out[k] = v
	}
	return out
}
