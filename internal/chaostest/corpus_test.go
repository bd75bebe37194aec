package chaostest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// corpusEntry is one raw request of the hostile corpus.
type corpusEntry struct {
	name string
	raw  string // with placeholders
}

// loadCorpus reads testdata/hostile/*.txt and the host/path spellings of
// internal/canon's differential test (sent as plain GETs).
func loadCorpus(t testing.TB) []corpusEntry {
	t.Helper()
	files, err := filepath.Glob("testdata/hostile/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	var out []corpusEntry
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			name, lit, ok := strings.Cut(line, "\t")
			raw, err := strconv.Unquote(lit)
			if !ok || err != nil {
				t.Fatalf("%s:%d: want name<TAB>quoted request: %v", f, i+1, err)
			}
			out = append(out, corpusEntry{filepath.Base(f) + ": " + name, raw})
		}
	}
	b, err := os.ReadFile("../canon/testdata/hostile-requests.txt")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 2 || strings.HasPrefix(line, "#") {
			continue
		}
		host := strings.ReplaceAll(f[0], "{port}", "{port}")
		out = append(out, corpusEntry{fmt.Sprintf("canon:%d", i+1),
			"GET " + f[1] + " HTTP/1.1\r\nHost: " + host + "\r\nCookie: gatehouse={session}\r\nConnection: close\r\n\r\n"})
	}
	return out
}

var repeatPlaceholder = regexp.MustCompile(`\{(.)\*([0-9]+)\}`)

// fill replaces the placeholders of a corpus request.
func fill(raw, host, session string) string {
	_, port, _ := net.SplitHostPort(host)
	raw = strings.NewReplacer("{host}", host, "{port}", port, "{session}", session).Replace(raw)
	return repeatPlaceholder.ReplaceAllStringFunc(raw, func(m string) string {
		sm := repeatPlaceholder.FindStringSubmatch(m)
		n, _ := strconv.Atoi(sm[2])
		return strings.Repeat(sm[1], n)
	})
}

// sendRaw writes raw on a new connection and reads every response until the
// connection closes or a few seconds pass; it returns their status codes.
func sendRaw(addr, raw string) ([]int, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := conn.Write([]byte(raw)); err != nil {
		// The gateway may close early on an oversized request: read its answer.
		var ne net.Error
		if !errors.As(err, &ne) && !errors.Is(err, net.ErrClosed) {
			_ = err
		}
	}
	br := bufio.NewReader(conn)
	var codes []int
	for {
		var req *http.Request
		if strings.HasPrefix(raw, "HEAD ") {
			req = &http.Request{Method: http.MethodHead}
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return codes, nil // closed, reset or quiet: the answers so far count
		}
		codes = append(codes, resp.StatusCode)
		_, _ = bufio.NewReader(resp.Body).WriteTo(discard{})
		resp.Body.Close()
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return codes, nil
		}
	}
}

// answeredByNetHTTP reports whether a corpus request carries a transfer
// coding other than a lone "chunked". Go's HTTP server answers those itself
// with 501 "unsupported transfer encoding" before any handler runs (RFC 9112
// section 6.1 allows 501 for a coding the server does not implement): the
// gateway never sees the request, so neither its access log nor its 5xx
// metrics count it, and nothing is smuggled.
func answeredByNetHTTP(name string) bool {
	return strings.HasSuffix(name, "smuggle-te-list") || strings.HasSuffix(name, "smuggle-te-te-obfuscated")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestHostileCorpus sends every request of the hostile corpus over raw TCP
// to a running gateway whose dependencies are all up: no answer may be 5xx,
// no session may be created, and the gateway must still run and answer
// /healthz at the end.
func TestHostileCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (make unit): this suite runs the gateway binary; make test runs it")
	}
	corpus := loadCorpus(t)
	if len(corpus) < 1000 {
		t.Fatalf("the corpus holds %d requests, want at least 1000", len(corpus))
	}
	s := startStack(t, stackOptions{})
	session := s.mustLogin(t)
	before := s.sessionIDs(t)

	var (
		next     atomic.Int64
		answered atomic.Int64
		mu       sync.Mutex
		bad      []string
		statuses = newTally()
		wg       sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(corpus) {
					return
				}
				e := corpus[i]
				codes, err := sendRaw(s.gw.addr, fill(e.raw, s.gw.addr, session.Value))
				if err != nil {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%s: %v", e.name, err))
					mu.Unlock()
					continue
				}
				if len(codes) > 0 {
					answered.Add(1)
				} else {
					statuses.add("no answer (closed or timed out)")
				}
				for _, c := range codes {
					statuses.add(strconv.Itoa(c))
					if c >= 500 && !(c == http.StatusNotImplemented && answeredByNetHTTP(e.name)) {
						mu.Lock()
						bad = append(bad, fmt.Sprintf("%s: %d", e.name, c))
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(bad)
	for _, b := range bad {
		t.Error(b)
	}
	t.Logf("%d hostile requests, %d answered; answers: %v", len(corpus), answered.Load(), statuses)

	if !s.gw.alive() {
		t.Fatal("the gateway exited")
	}
	if resp, _, err := s.do(t.Context(), http.MethodGet, s.gw.URL+"/healthz", "text/plain"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz after the corpus: %v %v", resp, err)
	}
	after := s.sessionIDs(t)
	for id := range after {
		if !before[id] {
			t.Errorf("the corpus created a session (%s...)", id[:min(len(id), 8)])
		}
	}
	if answered.Load() < int64(len(corpus))/2 {
		t.Errorf("only %d of %d requests were answered", answered.Load(), len(corpus))
	}
}

// sessionIDs lists the sessions in the store.
func (s *stack) sessionIDs(t testing.TB) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	iter := s.rdb.Scan(t.Context(), 0, keyPrefix+"s:*", 1000).Iterator()
	for iter.Next(t.Context()) {
		ids[strings.TrimPrefix(iter.Val(), keyPrefix+"s:")] = true
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}
