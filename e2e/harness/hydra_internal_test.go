package harness

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHydraStampMatchesTestDeps: the harness and scripts/test-deps.sh agree on the stamp of
// bin/hydra, so neither rebuilds what the other built.
func TestHydraStampMatchesTestDeps(t *testing.T) {
	Require(t, "sha256sum")
	dir := filepath.Join(e2eDir(t), "hydra")
	got, err := hydraStamp(dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", "cat go.mod go.sum | sha256sum | cut -d' ' -f1")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(out)); got != want {
		t.Errorf("hydraStamp = %s, the script computes %s", got, want)
	}
}
