package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// buildVersion is set with -ldflags "-X main.buildVersion=v1.2.3".
var buildVersion = ""

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func cmdGenkey(stdout io.Writer) error {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(b))
	return nil
}

// loadConfig parses the -config flag, loads, validates and compiles the
// file, and prints every problem to stderr.
func loadConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (*config.Runtime, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "gatehouse.toml", "path of the TOML configuration file")
	if err := fs.Parse(args); err != nil {
		return nil, exitError{}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gatehouse %s: unexpected argument %q\n", name, fs.Arg(0))
		return nil, exitError{}
	}
	cfg, err := config.Load(*path, getenv)
	if err == nil {
		err = cfg.Validate()
	}
	var rt *config.Runtime
	if err == nil {
		rt, err = config.Compile(cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse: configuration %s is not valid:\n", *path)
		printProblems(stderr, err)
		return nil, exitError{}
	}
	return rt, nil
}

func printProblems(w io.Writer, err error) {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			printProblems(w, e)
		}
		return
	}
	fmt.Fprintf(w, "  - %v\n", err)
}

func cmdCheckConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	rt, err := loadConfig("check-config", args, getenv, stderr)
	if err != nil {
		return err
	}
	// Valid, but worth a second look (docs/grants.md, docs/sessions.md).
	for _, w := range append(rt.Config.GrantWarnings(), rt.Config.SessionWarnings()...) {
		fmt.Fprintln(stderr, "warning:", w)
	}
	fmt.Fprintln(stdout, "configuration is valid")
	return nil
}
