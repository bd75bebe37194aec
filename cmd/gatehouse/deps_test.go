package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// TestProductBinaryHasNoTestTooling checks that the production binary links
// neither the development authorization server (it approves logins) nor the
// test harnesses' dependencies (Kubernetes, Helm, chromedp): those live in
// cmd/gatehouse-demo and in the e2e, deploytest and bench modules.
func TestProductBinaryHasNoTestTooling(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list; skipped with -short")
	}
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = append(cmd.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, bad := range []string{"/internal/devop", "k8s.io/", "helm.sh/", "sigs.k8s.io/", "chromedp"} {
			if strings.Contains(pkg, bad) {
				t.Errorf("gatehouse links %s", pkg)
			}
		}
	}
}

// TestDemoIsItsOwnCommand: `gatehouse demo` says where the demo went
// instead of running an authorization server.
func TestDemoIsItsOwnCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // a demo that still ran would stop at once and return nil
	_, errOut, err := runCmd(t, ctx, nil, "demo")
	if err == nil || !strings.Contains(errOut, "make demo") || !strings.Contains(errOut, "cmd/gatehouse-demo") {
		t.Errorf("gatehouse demo: %q, %v; want an error naming make demo and cmd/gatehouse-demo", errOut, err)
	}
}
