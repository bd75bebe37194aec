// Command gatehouse is an OAuth 2.0 / OpenID Connect relying-party gateway:
// a reverse proxy that logs users in at an authorization server and forwards
// their requests, with their identity, to the applications behind it.
//
// Usage:
//
//	gatehouse [serve] -config FILE   run the gateway (the default command)
//	gatehouse check-config -config FILE
//	gatehouse genkey                 print a new random cookie secret
//	gatehouse sessions revoke -config FILE (-sub SUB | -sid SID)
//	gatehouse convert oauth2-proxy [-o FILE] [oauth2-proxy flags...]
//	gatehouse version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ee exitError
		var ec exitCode
		switch {
		case errors.As(err, &ec):
			os.Exit(int(ec))
		case !errors.As(err, &ee):
			fmt.Fprintln(os.Stderr, "gatehouse:", err)
		}
		os.Exit(1)
	}
}

// exitError ends the program with status 1 after its message was already printed.
type exitError struct{}

func (exitError) Error() string { return "exit status 1" }

// run is the whole program; main only supplies the process's context,
// arguments, environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return cmdServe(ctx, args, getenv, stdout, stderr)
	case "check-config":
		return cmdCheckConfig(args, getenv, stdout, stderr)
	case "genkey":
		return cmdGenkey(stdout)
	case "sessions":
		return cmdSessions(ctx, args, getenv, stdout, stderr)
	case "convert":
		return cmdConvert(args, getenv, stdout, stderr)
	case "demo":
		// The development AS is not in the production binary.
		fmt.Fprintln(stderr, "gatehouse: the demo is its own command: run `make demo` or `go run ./cmd/gatehouse-demo` in a checkout")
		return exitError{}
	case "version":
		fmt.Fprintln(stdout, "gatehouse", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", cmd, usage)
		return exitError{}
	}
}

const usage = `Usage:
  gatehouse [serve] -config FILE       run the gateway (default command)
  gatehouse check-config -config FILE  validate a configuration, print every problem
  gatehouse genkey                     print a new random cookie secret
  gatehouse sessions revoke -config FILE (-sub SUB | -sid SID)
                                       end every session of a user on every replica
  gatehouse convert oauth2-proxy [-o FILE] [oauth2-proxy flags...]
                                       convert an oauth2-proxy configuration
  gatehouse version                    print the version
`
