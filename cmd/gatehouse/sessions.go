package main

import (
	"context"
	"fmt"
	"io"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/session"
)

// cmdSessions is `gatehouse sessions revoke -config FILE -sub SUB | -sid SID`:
// it ends every session of a user (or of one OP session) on every replica
// sharing the configured store.
const sessionsUsage = `Usage: gatehouse sessions revoke [-config FILE] (-sub SUB | -sid SID)

Ends every session of a user (-sub, the ID token's sub) or of one session at
the authorization server (-sid) on every replica sharing the Redis store.

` + configUsage

func cmdSessions(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelpFlag(args[0]) {
		fmt.Fprint(stdout, sessionsUsage)
		return nil
	}
	if len(args) == 0 || args[0] != "revoke" {
		fmt.Fprint(stderr, sessionsUsage)
		return errUsage
	}
	fs := newFlags("sessions revoke", stderr)
	path := configFlag(fs)
	sub := fs.String("sub", "", "end every session of this subject (the ID token's sub)")
	sid := fs.String("sid", "", "end every session of this OP session ID (the ID token's sid)")
	if err := parseFlags(fs, sessionsUsage, args[1:], 0, stdout, stderr); err != nil {
		return helped(err)
	}
	if (*sub == "") == (*sid == "") {
		fmt.Fprintln(stderr, "gatehouse sessions revoke: give exactly one of -sub or -sid")
		return errUsage
	}
	rt, err := loadConfig(configSource(fs, *path, getenv), stderr)
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
