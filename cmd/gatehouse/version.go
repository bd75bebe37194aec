package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the Makefile and deploy/Dockerfile with -ldflags "-X main.name=value",
// for builds without VCS information (a Docker build context has no .git):
// buildVersion from `git describe`, buildRevision the commit (with
// "+dirty" for a work tree with changes), buildCommitTime its time and
// buildTime the build's (RFC 3339). Go's own VCS stamp wins over the last
// three.
var (
	buildVersion    = ""
	buildRevision   = ""
	buildCommitTime = ""
	buildTime       = ""
)

// buildInfo is what `gatehouse version` prints.
type buildInfo struct {
	version, module, revision, commitTime, buildTime, goVersion string
	modified                                                    bool
}

// readBuildInfo combines the linker's variables with the build information
// Go embeds (the module version and, with -buildvcs, the VCS revision).
func readBuildInfo() buildInfo {
	b := buildInfo{version: buildVersion, revision: buildRevision, commitTime: buildCommitTime, buildTime: buildTime, goVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		if b.version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.version = bi.Main.Version
		}
		if bi.Main.Path != "" {
			b.module = bi.Main.Path + " " + bi.Main.Version
		}
		if bi.GoVersion != "" {
			b.goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.revision = s.Value
			case "vcs.time":
				b.commitTime = s.Value
			case "vcs.modified":
				b.modified = s.Value == "true"
			}
		}
	}
	if b.version == "" {
		b.version = "dev"
	}
	return b
}

// revisionString is the revision with "+dirty" for a work tree that had
// changes, or "".
func (b buildInfo) revisionString() string {
	if b.modified && b.revision != "" && !strings.HasSuffix(b.revision, "+dirty") {
		return b.revision + "+dirty"
	}
	return b.revision
}

// version is the version alone, for logs.
func version() string { return readBuildInfo().version }

const versionUsage = `Usage: gatehouse version

Prints the version, the module and its version as Go recorded them, the VCS
revision it was built from ("+dirty" when the work tree had changes), the
commit and build times, and the Go version.
`

func cmdVersion(_ context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("version", stderr)
	if err := parseFlags(fs, versionUsage, args, 0, stdout, stderr); err != nil {
		return helped(err)
	}
	b := readBuildInfo()
	or := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	fmt.Fprintf(stdout, "gatehouse %s\n", b.version)
	fmt.Fprintf(stdout, "  module:    %s\n", or(b.module))
	fmt.Fprintf(stdout, "  revision:  %s\n", or(b.revisionString()))
	fmt.Fprintf(stdout, "  committed: %s\n", or(b.commitTime))
	fmt.Fprintf(stdout, "  built:     %s\n", or(b.buildTime))
	fmt.Fprintf(stdout, "  go:        %s %s/%s\n", b.goVersion, runtime.GOOS, runtime.GOARCH)
	return nil
}
