package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/convert"
)

// exitBlocking is the exit status of `gatehouse convert` when a
// security-relevant option could not be carried over.
const exitBlocking = 3

// exitCode ends the program with the given status after its message was
// printed.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

const convertUsage = `Usage:
  gatehouse convert oauth2-proxy [-o FILE] [--trusted-proxies CIDR,...] [oauth2-proxy flags...]

Reads an oauth2-proxy configuration as oauth2-proxy would: its flags (--config FILE for the
legacy config file, --alpha-config FILE for the alpha YAML configuration, --provider=oidc ...),
and the OAUTH2_PROXY_* environment variables, flags first. Writes a commented gatehouse.toml to
stdout (or -o FILE) and a report of every option to stderr. Secrets are never written: set
GATEHOUSE_CLIENT_SECRET and a new GATEHOUSE_COOKIE_SECRET (gatehouse genkey).

Exit status: 0 converted; 3 converted, but a security-relevant option could not be carried over
(see BLOCKING in the report); 1 the input could not be read.
`

// cmdConvert is `gatehouse convert oauth2-proxy ...`.
func cmdConvert(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelpFlag(args[0]) {
		fmt.Fprint(stdout, convertUsage)
		return nil
	}
	if len(args) == 0 || args[0] != "oauth2-proxy" {
		fmt.Fprint(stderr, convertUsage)
		return errUsage
	}
	args = args[1:]
	var out, trusted string
	var rest []string
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || (name != "o" && name != "output" && name != "trusted-proxies") {
			if name == "h" || name == "help" {
				fmt.Fprint(stdout, convertUsage)
				return nil
			}
			rest = append(rest, args[i])
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "gatehouse convert: flag -%s needs a value\n", name)
				return exitError{}
			}
			i++
			val = args[i]
		}
		if name == "trusted-proxies" {
			trusted = val
		} else {
			out = val
		}
	}
	in := convert.Input{Args: rest, ReadFile: os.ReadFile}
	for _, v := range convert.EnvVars() {
		if s := getenv(v); s != "" {
			in.Env = append(in.Env, v+"="+s)
		}
	}
	for _, p := range strings.Split(trusted, ",") {
		if p = strings.TrimSpace(p); p != "" {
			in.TrustedProxies = append(in.TrustedProxies, p)
		}
	}
	res, err := convert.Convert(in)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse convert: %v\n", err)
		if errors.Is(err, convert.ErrNoInput) {
			fmt.Fprint(stderr, "\n"+convertUsage)
		}
		return exitError{}
	}
	if out == "" {
		if _, err := stdout.Write(res.TOML); err != nil {
			return err
		}
	} else if err := os.WriteFile(out, res.TOML, 0o644); err != nil {
		return fmt.Errorf("convert: %w", err)
	}
	fmt.Fprint(stderr, res.Report())
	if res.Blocking() {
		return exitCode(exitBlocking)
	}
	return nil
}
