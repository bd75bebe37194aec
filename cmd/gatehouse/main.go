// Command gatehouse is an OAuth 2.0 / OpenID Connect relying-party gateway:
// a reverse proxy that logs users in at an authorization server and forwards
// their requests, with their identity, to the applications behind it.
//
// Usage:
//
//	gatehouse [serve] [-config FILE]   run the gateway (the default command)
//	gatehouse check-config [-config FILE] [-explain]
//	gatehouse genkey                   print a new random cookie secret
//	gatehouse sessions revoke [-config FILE] (-sub SUB | -sid SID)
//	gatehouse convert oauth2-proxy [-o FILE] [oauth2-proxy flags...]
//	gatehouse version
//	gatehouse help [COMMAND]
//
// Every configuration key can also be set by an environment variable
// (GATEHOUSE_SERVER_LISTEN, GATEHOUSE_UPSTREAM_0_URL, ...), which wins over
// the file; see internal/config.Read.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var (
			ee exitError
			ec exitCode
		)
		switch {
		case errors.As(err, &ec):
			os.Exit(int(ec))
		case !errors.As(err, &ee):
			fmt.Fprintln(os.Stderr, "gatehouse:", err)
		}
		os.Exit(ee.status())
	}
}

// exitError ends the program after its message was already printed: with
// status 2 for a usage error (an unknown command or flag), else 1.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.status()) }

func (e exitError) status() int {
	if e.code == 0 {
		return 1
	}
	return e.code
}

// errUsage is a usage error: exit status 2, as the flag package does.
var errUsage = exitError{code: 2}

// command is a subcommand of gatehouse.
type command struct {
	name, summary string
	// usage is the synopsis and description that -h prints above the flags.
	usage string
	run   func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

// commands are listed by `gatehouse help` in this order.
var commands = []command{
	{"serve", "run the gateway (the default command)", serveUsage, cmdServe},
	{"check-config", "validate the configuration and print every problem", checkConfigUsage, cmdCheckConfig},
	{"genkey", "print a new random cookie secret", genkeyUsage, cmdGenkey},
	{"sessions", "end sessions on every replica (sessions revoke)", sessionsUsage, cmdSessions},
	{"convert", "convert an oauth2-proxy configuration (convert oauth2-proxy)", convertUsage, cmdConvert},
	{"version", "print the version, VCS revision and Go version", versionUsage, cmdVersion},
	{"help", "print this help, or a command's (help COMMAND)", helpUsage, nil},
}

// run is the whole program; main only supplies the process's context,
// arguments, environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	} else if len(args) > 0 && isHelpFlag(args[0]) {
		fmt.Fprint(stdout, usage())
		return nil
	}
	switch name {
	case "help":
		return cmdHelp(args, stdout, stderr)
	case "demo":
		// The development AS is not in the production binary.
		fmt.Fprintln(stderr, "gatehouse: the demo is its own command: run `make demo` or `go run ./cmd/gatehouse-demo` in a checkout")
		return exitError{}
	}
	for _, c := range commands {
		if c.name == name && c.run != nil {
			return c.run(ctx, args, getenv, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", name, usage())
	return errUsage
}

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

// usage is what `gatehouse help` prints.
func usage() string {
	var b strings.Builder
	b.WriteString("gatehouse is an OAuth 2.0 / OpenID Connect gateway: it signs users in at an\n" +
		"authorization server and proxies their requests, with their identity.\n\n" +
		"Usage:\n  gatehouse [COMMAND] [FLAGS]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-13s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun \"gatehouse COMMAND -h\" for a command's flags. Every configuration key can\n" +
		"also be set from the environment, e.g. GATEHOUSE_SERVER_LISTEN=:4180 or\n" +
		"GATEHOUSE_UPSTREAM_0_URL=http://app:8080 (README.md, Configuration).\n")
	return b.String()
}

const helpUsage = `Usage: gatehouse help [COMMAND]

Prints the list of commands, or the usage of one.
`

func cmdHelp(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelpFlag(args[0]) {
		fmt.Fprint(stdout, usage())
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] && c.run != nil { // its -h prints its usage and flags
			return helped(c.run(context.Background(), []string{"-h"}, func(string) string { return "" }, stdout, stderr))
		}
		if c.name == args[0] {
			fmt.Fprint(stdout, c.usage)
			return nil
		}
	}
	fmt.Fprintf(stderr, "gatehouse help: unknown command %q\n\n%s", args[0], usage())
	return errUsage
}

// newFlags returns the flag set of a command, whose -h prints usage and its
// flags to stdout.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("gatehouse "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with fs. It returns errHelped after printing
// usage and the flags to stdout for -h, and errUsage after printing the
// problem and usage to stderr for a bad flag or argument.
func parseFlags(fs *flag.FlagSet, usage string, args []string, maxArgs int, stdout, stderr io.Writer) error {
	printUsage := func(w io.Writer) {
		fmt.Fprint(w, usage)
		if hasFlags(fs) {
			fmt.Fprintln(w, "\nFlags:")
			fs.SetOutput(w)
			fs.PrintDefaults()
			fs.SetOutput(stderr)
		}
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(stdout)
		return errHelped
	case err != nil: // the flag package printed the problem
		fmt.Fprintf(stderr, "Run \"%s -h\" for its usage.\n", fs.Name())
		return errUsage
	case fs.NArg() > maxArgs:
		fmt.Fprintf(stderr, "%s: unexpected argument %q\nRun \"%s -h\" for its usage.\n", fs.Name(), fs.Arg(maxArgs), fs.Name())
		return errUsage
	}
	return nil
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// errHelped ends a command whose -h printed its usage: status 0.
var errHelped = errors.New("help printed")

// helped turns errHelped into success.
func helped(err error) error {
	if errors.Is(err, errHelped) {
		return nil
	}
	return err
}
