package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/session"
)

// cmdSessions is `gatehouse sessions revoke -config FILE -sub SUB | -sid SID`:
// it ends every session of a user (or of one OP session) on every replica
// sharing the configured store.
func cmdSessions(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "revoke" {
		fmt.Fprintln(stderr, "usage: gatehouse sessions revoke -config FILE (-sub SUB | -sid SID)")
		return exitError{}
	}
	fs := flag.NewFlagSet("sessions revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "gatehouse.toml", "path of the TOML configuration file")
	sub := fs.String("sub", "", "end every session of this subject (the ID token's sub)")
	sid := fs.String("sid", "", "end every session of this OP session ID (the ID token's sid)")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError{}
	}
	if (*sub == "") == (*sid == "") {
		fmt.Fprintln(stderr, "gatehouse sessions revoke: give exactly one of -sub or -sid")
		return exitError{}
	}
	rt, err := loadConfig("sessions revoke", []string{"-config", *path}, getenv, stderr)
	if err != nil {
		return err
	}
	cfg := rt.Config
	switch {
	case cfg.Session.Store == config.StoreMemory:
		fmt.Fprintln(stderr, `gatehouse sessions revoke: session.store is "memory": sessions live inside the running gateway; restart it to end them all`)
		return exitError{}
	case cfg.Session.Store == config.StoreCookie && !cfg.Session.Redis.Configured():
		fmt.Fprintln(stderr, `gatehouse sessions revoke: session.store is "cookie" without [session.redis]: the sessions live in the browsers' cookies and their revocations in each gateway's memory, which this command cannot reach. Configure [session.redis], or rotate session.cookie_secret (drop the old one) to end every session`)
		return exitError{}
	}
	st, err := server.NewStore(cfg.Session)
	if err != nil {
		return err
	}
	defer st.Close()
	so := rt.Session // the cookie store records revocations for session.lifetime
	so.Store = st
	m, err := session.NewManager(so)
	if err != nil {
		return err
	}
	var n int
	if *sub != "" {
		n, err = m.EndBySubject(ctx, cfg.Provider.Issuer, *sub)
	} else {
		n, err = m.EndBySID(ctx, cfg.Provider.Issuer, *sid)
	}
	if err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	if cfg.Session.Store == config.StoreCookie {
		fmt.Fprintf(stdout, "revoked every cookie session; ended %d server-side session(s)\n", n)
		return nil
	}
	fmt.Fprintf(stdout, "ended %d session(s)\n", n)
	return nil
}
