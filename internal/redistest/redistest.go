// Package redistest starts real redis-server processes for tests: a standalone
// server (Start), a Redis Cluster (StartCluster) and a Sentinel-monitored
// master with a replica (StartSentinel).
//
// Every server listens on a free port of 127.0.0.1, keeps its files in a
// t.TempDir, persists nothing (--save "" --appendonly no) and is killed by
// t.Cleanup, so a test leaves no process behind. The binary is redis-server
// from PATH (Debian package redis-server); Require skips a test without it,
// or fails it when CI=true.
//
// The methods of Server, Cluster and Sentinel report failures with t.Fatal,
// so call them from the test's own goroutine.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// readyTimeout bounds how long a starting server may take to answer PING.
	readyTimeout = 10 * time.Second
	// startAttempts is how often a start is retried on a new port when the
	// chosen one was taken between choosing it and binding it.
	startAttempts = 5
	// pollInterval is how often the helpers poll a server for a state.
	pollInterval = 20 * time.Millisecond
	// logTail is how many lines of a server's log a failure shows.
	logTail = 30
)

// errAddrInUse means redis-server exited because its port was taken.
var errAddrInUse = errors.New("redistest: address already in use")

// Require skips the test when redis-server is not installed, naming the Debian
// package that provides it. When the environment variable CI is "true" it
// fails the test instead: CI must not pass by skipping.
func Require(t testing.TB) {
	t.Helper()
	if _, err := binary(); err != nil {
		msg := "redistest: redis-server not found in PATH: install the Debian package redis-server (apt-get install redis-server)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// binary returns the path of redis-server: from PATH, else /usr/bin.
func binary() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	const debian = "/usr/bin/redis-server"
	if _, err := os.Stat(debian); err != nil {
		return "", fmt.Errorf("redistest: redis-server not found in PATH nor at %s", debian)
	}
	return debian, nil
}

// Server is one redis-server process (a data node or a sentinel).
type Server struct {
	// Addr is host:port, always on 127.0.0.1.
	Addr string
	// URL is the redis:// URL of database 0, for redis.ParseURL.
	URL string

	t      testing.TB
	name   string
	dir    string
	port   int
	argsAt func(port int) []string // the command line for a port

	mu      sync.Mutex
	proc    *process // nil while stopped
	logPath string   // log of the last process started
}

// process is a running redis-server.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once it has exited
}

// Start starts a standalone redis-server on a free port and stops it when the
// test ends. It calls Require first.
func Start(t testing.TB) *Server {
	t.Helper()
	return startServer(t, "redis", false, dataArgs)
}

// dataArgs is the command line of a data node: loopback only, nothing on disk.
func dataArgs(dir string, port int) []string {
	return []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
		// A master otherwise waits 5s for more replicas before a full sync.
		"--repl-diskless-sync-delay", "0",
		"--daemonize", "no",
		"--logfile", "",
	}
}

// startServer starts a server whose command line argsAt builds for a port,
// choosing a new free port while the chosen one turns out to be taken. bus
// asks for a port whose cluster bus port (port+10000) is free too.
func startServer(t testing.TB, name string, bus bool, argsAt func(dir string, port int) []string) *Server {
	t.Helper()
	Require(t)
	dir := t.TempDir()
	s := &Server{t: t, name: name, dir: dir, argsAt: func(port int) []string { return argsAt(dir, port) }}
	t.Cleanup(func() {
		if t.Failed() {
			s.logTail()
		}
		s.Stop()
	})

	var err error
	for range startAttempts {
		s.port, err = freePort(bus)
		if err != nil {
			t.Fatal(err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
		s.URL = "redis://" + s.Addr + "/0"
		if err = s.start(); !errors.Is(err, errAddrInUse) {
			break
		}
	}
	if err != nil {
		t.Fatalf("redistest: start %s: %v", name, err)
	}
	return s
}

// Stop kills the server (SIGKILL, as in a crash) and waits until it has
// exited. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	_ = s.proc.cmd.Process.Kill()
	<-s.proc.exited
	s.proc = nil
}

// Restart stops the server if it runs and starts it again on the same port
// with the same command line. Its data is gone: it persists nothing.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	// The port was ours a moment ago; should the kernel not have released it
	// yet, try again for a while.
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	err := poll(ctx, func(context.Context) error {
		err := s.start()
		if err != nil && !errors.Is(err, errAddrInUse) {
			cancel() // any other failure is final
		}
		return err
	})
	if err != nil {
		s.t.Fatalf("redistest: restart %s on %s: %v", s.name, s.Addr, err)
	}
}

// start runs redis-server on s.port and waits until it answers as itself.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return nil
	}
	bin, err := binary()
	if err != nil {
		return err
	}
	s.logPath = filepath.Join(s.dir, fmt.Sprintf("%s-%d.log", s.name, s.port))
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child holds its own descriptor

	cmd := exec.Command(bin, s.argsAt(s.port)...)
	cmd.Dir = s.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()

	if err := waitReady(p, s.Addr); err != nil {
		_ = cmd.Process.Kill()
		<-p.exited
		log := tail(s.logPath, logTail)
		if strings.Contains(log, "Address already in use") {
			return fmt.Errorf("%w: %s", errAddrInUse, s.Addr)
		}
		return fmt.Errorf("%w; log:\n%s", err, log)
	}
	s.proc = p
	return nil
}

// waitReady waits until the server at addr answers INFO with the process id of
// p: an answer from another process that took the port does not count.
func waitReady(p *process, addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	want := fmt.Sprintf("process_id:%d\r\n", p.cmd.Process.Pid)
	err := poll(ctx, func(ctx context.Context) error {
		select {
		case <-p.exited:
			cancel() // final
			return fmt.Errorf("redis-server exited: %v", p.cmd.ProcessState)
		default:
		}
		info, err := infoServer(ctx, addr)
		if err != nil {
			return err
		}
		if !strings.Contains(info, want) {
			return fmt.Errorf("another process answers on %s", addr)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	return nil
}

// infoServer sends INFO server on a new connection and returns the reply. It
// speaks RESP itself: a go-redis client would, after a refused dial, wait a
// second before dialing again.
func infoServer(ctx context.Context, addr string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(conn, "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n"); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if !strings.HasPrefix(line, "$") {
		return "", fmt.Errorf("INFO replied %q", line) // -LOADING and the like
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 0 {
		return "", fmt.Errorf("INFO replied %q", line)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return "", err
	}
	return string(body), nil
}

// logTail logs the end of the server's log, for a failed test.
func (s *Server) logTail() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logPath != "" {
		s.t.Logf("redistest: %s on %s, last lines of its log:\n%s", s.name, s.Addr, tail(s.logPath, logTail))
	}
}

// freePort returns a port of 127.0.0.1 that was free a moment ago. With bus,
// port+10000 (the Redis Cluster bus port) was free too.
func freePort(bus bool) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("redistest: choose a port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !bus {
			_ = l.Close()
			return port, nil
		}
		if port+10000 > 65535 {
			_ = l.Close()
			continue
		}
		lb, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		_ = l.Close()
		if err != nil {
			continue
		}
		_ = lb.Close()
		return port, nil
	}
	return 0, errors.New("redistest: found no port whose bus port (port+10000) is free")
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// poll calls check every pollInterval until it returns nil or ctx ends; then
// it returns the last error of check.
func poll(ctx context.Context, check func(context.Context) error) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}
