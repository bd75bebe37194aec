package deploytest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dockerfile is what the tests need of deploy/Dockerfile.
type dockerfile struct {
	args       map[string]string // ARG defaults before the first FROM
	stages     []dockerStage
	entrypoint []string // of the final stage, exec form
	cmd        []string // of the final stage, exec form
	expose     string
	user       string
}

// dockerStage is one FROM and its instructions.
type dockerStage struct {
	from, name string
	instrs     [][2]string // instruction (upper case), its arguments
}

// parseDockerfile reads deploy/Dockerfile: line continuations, comments,
// global ARGs, stages, and the final stage's ENTRYPOINT, CMD, EXPOSE and USER.
// ENTRYPOINT and CMD must be in exec (JSON) form.
func parseDockerfile(t *testing.T) *dockerfile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(deployDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := &dockerfile{args: map[string]string{}}
	var logical []string
	var cont strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || line == "" && cont.Len() == 0 {
			continue
		}
		if l, ok := strings.CutSuffix(line, `\`); ok {
			cont.WriteString(l + " ")
			continue
		}
		cont.WriteString(line)
		logical = append(logical, cont.String())
		cont.Reset()
	}
	for _, l := range logical {
		instr, rest, _ := strings.Cut(l, " ")
		instr, rest = strings.ToUpper(instr), strings.TrimSpace(rest)
		if instr == "FROM" {
			f := strings.Fields(rest)
			s := dockerStage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			df.stages = append(df.stages, s)
			continue
		}
		if len(df.stages) == 0 {
			if instr == "ARG" {
				k, v, _ := strings.Cut(rest, "=")
				df.args[k] = v
			}
			continue
		}
		last := &df.stages[len(df.stages)-1]
		last.instrs = append(last.instrs, [2]string{instr, rest})
	}
	if len(df.stages) == 0 {
		t.Fatal("Dockerfile: no FROM")
	}
	for _, in := range df.stages[len(df.stages)-1].instrs {
		switch in[0] {
		case "ENTRYPOINT", "CMD":
			var v []string
			if err := json.Unmarshal([]byte(in[1]), &v); err != nil {
				t.Fatalf("Dockerfile %s %s: want the exec (JSON) form, so that the binary is PID 1 and gets SIGTERM: %v", in[0], in[1], err)
			}
			if in[0] == "ENTRYPOINT" {
				df.entrypoint = v
			} else {
				df.cmd = v
			}
		case "EXPOSE":
			df.expose = strings.TrimSuffix(in[1], "/tcp")
		case "USER":
			df.user = in[1]
		}
	}
	return df
}

// run returns the RUN instructions of a stage.
func (s *dockerStage) run() []string {
	var r []string
	for _, in := range s.instrs {
		if in[0] == "RUN" {
			r = append(r, in[1])
		}
	}
	return r
}

// ldflagsRE finds the -ldflags of the builder's go build.
var ldflagsRE = regexp.MustCompile(`-ldflags "([^"]*)"`)

// TestDockerfile checks the image: a Go builder of go.mod's version, a static
// (CGO off), trimmed build of ./cmd/gatehouse stamped with the version, and a
// distroless runtime that runs /gatehouse as a numeric non-root user with the
// command line the manifests use.
func TestDockerfile(t *testing.T) {
	df := parseDockerfile(t)
	if len(df.stages) != 2 {
		t.Fatalf("want 2 stages (build, runtime), have %d", len(df.stages))
	}
	build, runtime := df.stages[0], df.stages[1]

	goVersion := goDirective(t)
	from := os.Expand(build.from, func(k string) string { return df.args[k] })
	if want := "golang:" + goVersion; from != want {
		t.Errorf("builder FROM %s (%s), want %s (go.mod's go directive)", build.from, from, want)
	}
	runs := strings.Join(build.run(), "\n")
	for _, want := range []string{"CGO_ENABLED=0 go build", "-trimpath", "-X main.buildVersion=${VERSION}",
		// No .git in the build context: the revision comes from the build arguments.
		"-buildvcs=false", "-X main.buildRevision=${REVISION}", "-X main.buildTime=${BUILD_TIME}",
		"-o /out/gatehouse ./cmd/gatehouse"} {
		if !strings.Contains(runs, want) {
			t.Errorf("builder RUN lacks %q:\n%s", want, runs)
		}
	}
	if !ldflagsRE.MatchString(runs) {
		t.Errorf("builder RUN has no -ldflags \"...\"")
	}

	if runtime.from != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("runtime FROM %s, want gcr.io/distroless/static-debian12:nonroot", runtime.from)
	}
	copied := false
	for _, in := range runtime.instrs {
		if in[0] == "RUN" {
			t.Errorf("runtime stage RUN %s: the distroless image has no shell", in[1])
		}
		if in[0] == "COPY" && in[1] == "--from="+build.name+" /out/gatehouse /gatehouse" {
			copied = true
		}
	}
	if !copied {
		t.Errorf("runtime stage does not COPY --from=%s /out/gatehouse /gatehouse", build.name)
	}
	if len(df.entrypoint) != 1 || df.entrypoint[0] != "/gatehouse" {
		t.Errorf("ENTRYPOINT %q, want [\"/gatehouse\"]", df.entrypoint)
	}
	if want := []string{"serve", "-config", "/etc/gatehouse/gatehouse.toml"}; strings.Join(df.cmd, " ") != strings.Join(want, " ") {
		t.Errorf("CMD %q, want %q", df.cmd, want)
	}
	if df.user != "65532:65532" {
		t.Errorf("USER %q, want the numeric 65532:65532 (nonroot), which runAsNonRoot can verify", df.user)
	}
	if df.expose != "4180" {
		t.Errorf("EXPOSE %q, want 4180", df.expose)
	}

	// The manifests run the image as its own user.
	for _, r := range renderings(t) {
		if len(r.m.Deployments) != 1 {
			continue
		}
		psc := r.m.Deployments[0].Spec.Template.Spec.SecurityContext
		if psc == nil || psc.RunAsUser == nil || psc.RunAsGroup == nil || itoa(int32(*psc.RunAsUser))+":"+itoa(int32(*psc.RunAsGroup)) != df.user {
			t.Errorf("%s: pod runAsUser:runAsGroup differ from the image's USER %s", r.name, df.user)
		}
	}
}

// goDirective returns the major.minor of go.mod's go directive.
func goDirective(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod: no go directive")
	}
	return string(m[1])
}
