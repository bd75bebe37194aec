package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

const genkeyUsage = `Usage: gatehouse genkey

Prints a new random session cookie secret: 32 bytes, base64. Use it as
session.cookie_secret (better: in the file named by session.cookie_secret_file,
or in GATEHOUSE_COOKIE_SECRET).
`

func cmdGenkey(_ context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("genkey", stderr)
	if err := parseFlags(fs, genkeyUsage, args, 0, stdout, stderr); err != nil {
		return helped(err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(b))
	return nil
}

// configUsage describes -config and the environment, for the commands that
// read the configuration.
const configUsage = `The configuration is the TOML file of -config (default gatehouse.toml),
with every GATEHOUSE_ environment variable applied over it: each key has one,
e.g. GATEHOUSE_SERVER_LISTEN for server.listen, GATEHOUSE_UPSTREAM_0_URL for
upstream[0].url. Without -config, a missing gatehouse.toml is no error when
such variables are set: the environment alone configures the gateway.
-config "" reads no file.
`

// configFlag adds -config to fs.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "gatehouse.toml", "path of the TOML configuration file (\"\": none, the environment alone)")
}

// configSource is where the configuration of a command comes from: the
// -config file (optional unless the flag was given) and the environment.
func configSource(fs *flag.FlagSet, path string, getenv func(string) string) config.Source {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "config" })
	var names []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	return config.Source{Path: path, Optional: !given, Env: config.Env{Getenv: getenv, Names: names}}
}

// readConfig loads, validates and compiles the configuration of src. On
// failure it returns what could be decoded (or nil) with every problem.
func readConfig(src config.Source) (*config.Config, config.Origins, *config.Runtime, []error) {
	cfg, origins, err := config.Read(src)
	problems := flatten(err)
	if cfg == nil {
		return nil, nil, nil, problems
	}
	// A value that did not decode was left at its default: leave out what
	// validation says of it.
	var bad []string
	for _, p := range problems {
		var fe *config.FieldError
		if errors.As(p, &fe) {
			bad = append(bad, fe.Key)
		}
	}
	for _, p := range flatten(cfg.Validate()) {
		key, _, _ := strings.Cut(p.Error(), ":")
		if !underAny(key, bad) {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return cfg, origins, nil, problems
	}
	rt, err := config.Compile(cfg)
	if err != nil {
		return cfg, origins, nil, flatten(err)
	}
	return cfg, origins, rt, nil
}

func underAny(key string, prefixes []string) bool {
	for _, p := range prefixes {
		if key == p || strings.HasPrefix(key, p+".") || strings.HasPrefix(key, p+"[") {
			return true
		}
	}
	return false
}

// flatten lists the errors joined in err.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// loadConfig reads the configuration of src and prints every problem to
// stderr.
func loadConfig(src config.Source, stderr io.Writer) (*config.Runtime, error) {
	_, _, rt, problems := readConfig(src)
	if problems != nil {
		printProblems(stderr, src, problems)
		return nil, exitError{}
	}
	return rt, nil
}

func printProblems(w io.Writer, src config.Source, problems []error) {
	name := src.Path
	if name == "" {
		name = "(from the environment)"
	}
	fmt.Fprintf(w, "gatehouse: configuration %s is not valid:\n", name)
	for _, p := range problems {
		fmt.Fprintf(w, "  - %v\n", p)
	}
}

const checkConfigUsage = `Usage: gatehouse check-config [-config FILE] [-explain]

Reads and validates the configuration as serve would, without starting, and
prints every problem at once, each with its key path. Exit status 1 when
the configuration is not valid. -explain also prints the effective
configuration: every key, defaults included, with where its value came from
(default, file, env VARIABLE, secret file); secrets are never printed.

` + configUsage

func cmdCheckConfig(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("check-config", stderr)
	path := configFlag(fs)
	explain := fs.Bool("explain", false, "print the effective configuration and where each value came from")
	if err := parseFlags(fs, checkConfigUsage, args, 0, stdout, stderr); err != nil {
		return helped(err)
	}
	src := configSource(fs, *path, getenv)
	cfg, origins, rt, problems := readConfig(src)
	if *explain && cfg != nil {
		fmt.Fprint(stdout, cfg.Explain(origins))
	}
	if problems != nil {
		printProblems(stderr, src, problems)
		return exitError{}
	}
	// Valid, but worth a second look (docs/grants.md, docs/sessions.md).
	for _, w := range append(rt.Config.GrantWarnings(), rt.Config.SessionWarnings()...) {
		fmt.Fprintln(stderr, "warning:", w)
	}
	fmt.Fprintln(stdout, "configuration is valid")
	return nil
}
