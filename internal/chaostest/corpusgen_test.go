package chaostest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/hostile/generated.txt from the generator")

// The corpus files hold one request per line: a name, a tab, and the raw
// request as a Go string literal (strconv.Quote). Placeholders are filled in
// when it is sent: {host} the gateway's host:port, {session} a valid session
// cookie value, {X*N} the byte X repeated N times (oversized headers and URIs
// without megabytes in the file).
const generatedCorpus = "testdata/hostile/generated.txt"

// endpoint is one of the gateway's endpoints the generator aims at.
type endpoint struct {
	method, path string
	query        string // a plausible query, hostile values replace it
	headers      string // extra header lines the endpoint expects (CRLF-terminated)
	body         string
}

const (
	jsonCT = "Content-Type: application/json\r\n"
	formCT = "Content-Type: application/x-www-form-urlencoded\r\n"
	fwd    = "X-Forwarded-Method: GET\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: {host}\r\nX-Forwarded-Uri: /admin/x\r\n"
	rest   = "/auth/rest/public/authentication"
)

var endpoints = []endpoint{
	{method: "GET", path: "/oauth2/start", query: "rd=%2F"},
	{method: "GET", path: "/oauth2/callback", query: "code=abc&state=def"},
	{method: "GET", path: "/oauth2/sign_out", query: "rd=%2F"},
	{method: "POST", path: "/oauth2/sign_out", headers: formCT + "Origin: http://{host}\r\n", body: "rd=%2F"},
	{method: "GET", path: "/oauth2/userinfo"},
	{method: "POST", path: "/oauth2/backchannel_logout", headers: formCT, body: "logout_token=e30.e30.e30"},
	{method: "GET", path: "/oauth2/frontchannel_logout", query: "iss=http%3A%2F%2Fx&sid=1"},
	{method: "GET", path: "/oauth2/auth"},
	{method: "GET", path: "/oauth2/auth", headers: fwd},
	{method: "POST", path: rest + "/default-application/access/", headers: jsonCT, body: `{}`},
	{method: "POST", path: rest + "/applications/app/access/", headers: jsonCT, body: `{}`},
	{method: "POST", path: rest + "/oauth2-client/authorization-request/", headers: jsonCT, body: `{"flowId":"x"}`},
	{method: "POST", path: rest + "/oauth2-client/authorization-response/", headers: jsonCT, body: `{"flowId":"x","url":"com.example.app:/oauth2redirect?code=a&state=b"}`},
	{method: "POST", path: rest + "/abort/", headers: jsonCT, body: `{"flowId":"x"}`},
	{method: "POST", path: rest + "/logout/", headers: jsonCT + "Authorization: Bearer x\r\n", body: `{}`},
	{method: "GET", path: "/auth/rest/protected/session/", headers: "Authorization: Bearer x\r\n"},
	{method: "GET", path: "/healthz"},
	{method: "GET", path: "/readyz"},
	{method: "GET", path: "/"},
	{method: "GET", path: "/app/x", query: "q=1"},
	{method: "POST", path: "/app/form", headers: formCT, body: "a=b"},
	{method: "GET", path: "/public/x"},
}

// Hostile values, by where they go.
var (
	badSessionCookies = []string{
		"", "%", "%zz", "a", "....", "a.b.c.d", "{X*5000}", "=====", "AAAA-____", "\"quoted\"", "x\x00y", "\xff\xfe",
		"v1.{X*300}", "{session}x", "x{session}", "{session}; gatehouse=other", "gatehouse",
	}
	badBindingCookies = []string{"", "%", "{X*5000}", "a.b", "\xc3\x28", "{session}"}
	badQueryValues    = []string{
		"", "%", "%zz", "%00", "%0d%0aSet-Cookie:%20x=y", "\xff", "%c0%af", "{X*3000}", "javascript:alert(1)",
		"%2F%2Fevil.example", "http:%2F%2Fevil.example", "%5C%5Cevil.example", "/%09/evil.example", "https://evil.example@{host}/",
		"..%2F..%2F", "a&a=b", "%E2%80%AE",
	}
	badHeaderLines = []string{
		"X-Injected: a\rb\r\n", "X-Injected: a\nb: c\r\n", "X-Folded: a\r\n b\r\n", "X-Nul: a\x00b\r\n",
		"Bad Name: x\r\n", ": empty\r\n", "X-Long: {X*70000}\r\n", "Host: second.example\r\n",
		"Cookie: gatehouse={session}\r\nCookie: gatehouse=junk\r\n", "X-Forwarded-For: 1.2.3.4, \"junk\", ::1\r\n",
		"X-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: javascript\r\n", "X-Forwarded-Uri: http://evil.example/%2e%2e/\r\n",
		"X-Original-URL: /oauth2/../admin\r\n", "Forwarded: for=\"[::1\";host=evil\r\n", "Content-Length: -1\r\n",
		"Expect: 100-continue\r\n", "Accept: application/json\r\nAuthorization: Bearer {X*9000}\r\n",
		"Authorization: Basic %%%\r\n", "X-Forwarded-User: admin\r\nX-Forwarded-Groups: admins\r\n",
	}
	badPaths = []string{
		"/%", "/%zz", "/%c0%af", "/\xff", "/a%00b", "/%2e%2e/%2e%2e/etc/passwd", "//evil.example/", "/oauth2/%2e%2e/x",
		"/{X*9000}", "*", "/a b", "/%E2%80%AE",
	}
	badRequestTargets = []string{"http://evil.example/", "http://{host}{path}", "https://{host}{path}", "//{host}{path}", "{path}#frag"}
	badMethods        = []string{"FOO", "get", "CONNECT", "TRACE", "PROPFIND", "G\x01T", "{X*300}"}
)

// smuggling are request pairs that only a confused parser reads as two.
var smuggling = []struct{ name, headers, body string }{
	{"cl-te", "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\nGET /oauth2/userinfo HTTP/1.1\r\nHost: {host}\r\n\r\n"},
	{"te-cl", "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", "8\r\nSMUGGLED\r\n0\r\n\r\n"},
	{"te-te-obfuscated", "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n", "0\r\n\r\nGET /admin HTTP/1.1\r\nHost: {host}\r\n\r\n"},
	{"te-space", "Transfer-Encoding : chunked\r\n", "0\r\n\r\n"},
	{"te-case", "Transfer-Encoding: CHUNKED\r\nContent-Length: 4\r\n", "1\r\nA\r\n0\r\n\r\n"},
	{"te-list", "Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"},
	{"cl-cl-differ", "Content-Length: 0\r\nContent-Length: 44\r\n", "GET /oauth2/userinfo HTTP/1.1\r\nHost: {host}\r\n\r\n"},
	{"cl-list", "Content-Length: 5, 7\r\n", "hello"},
	{"cl-plus", "Content-Length: +5\r\n", "hello"},
	{"chunk-bad-size", "Transfer-Encoding: chunked\r\n", "zz\r\nhello\r\n0\r\n\r\n"},
	{"chunk-overflow", "Transfer-Encoding: chunked\r\n", "ffffffffffffffffff\r\nx\r\n0\r\n\r\n"},
	{"chunk-ext-smuggle", "Transfer-Encoding: chunked\r\n", "5;\nx\r\nhello\r\n0\r\n\r\n"},
	{"te-http10", "Transfer-Encoding: chunked\r\n", "0\r\n\r\n"},
}

// request builds a raw request line + headers + body.
func request(method, target, headers, body string, keepOpen bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: {host}\r\nUser-Agent: gatehouse-hostile-corpus\r\n", method, target)
	b.WriteString(headers)
	if body != "" && !strings.Contains(headers, "Content-Length") && !strings.Contains(headers, "Transfer-Encoding") {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	if !keepOpen {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.String()
}

func target(e endpoint, query string) string {
	if query == "" {
		return e.path
	}
	return e.path + "?" + query
}

// generateCorpus returns the generated requests, in a fixed order.
func generateCorpus() [][2]string {
	var out [][2]string
	add := func(name, raw string) { out = append(out, [2]string{name, raw}) }
	for i, e := range endpoints {
		id := fmt.Sprintf("%02d %s %s", i, e.method, e.path)
		t := target(e, e.query)
		for j, v := range badSessionCookies {
			add(fmt.Sprintf("%s session-cookie-%d", id, j), request(e.method, t, e.headers+"Cookie: gatehouse="+v+"\r\n", e.body, false))
		}
		for j, v := range badBindingCookies {
			add(fmt.Sprintf("%s binding-cookie-%d", id, j), request(e.method, t, e.headers+"Cookie: gatehouse_csrf="+v+"\r\n", e.body, false))
		}
		for j, v := range badQueryValues {
			for _, param := range []string{"state", "code", "rd"} {
				add(fmt.Sprintf("%s query-%s-%d", id, param, j), request(e.method, target(e, param+"="+v+"&"+e.query), e.headers, e.body, false))
			}
		}
		for j, h := range badHeaderLines {
			add(fmt.Sprintf("%s header-%d", id, j), request(e.method, t, e.headers+h, e.body, false))
		}
		for j, m := range badMethods {
			add(fmt.Sprintf("%s method-%d", id, j), request(m, t, e.headers, e.body, false))
		}
		for j, rt := range badRequestTargets {
			add(fmt.Sprintf("%s target-%d", id, j), request(e.method, strings.ReplaceAll(rt, "{path}", t), e.headers, e.body, false))
		}
		for _, sm := range smuggling {
			raw := request(e.method, t, e.headers+sm.headers, sm.body, true)
			if sm.name == "te-http10" {
				raw = strings.Replace(raw, "HTTP/1.1", "HTTP/1.0", 1)
			}
			add(fmt.Sprintf("%s smuggle-%s", id, sm.name), raw)
		}
	}
	for j, p := range badPaths {
		add(fmt.Sprintf("path-%d", j), request("GET", p, "", "", false))
		add(fmt.Sprintf("path-%d-session", j), request("GET", p, "Cookie: gatehouse={session}\r\n", "", false))
	}
	// Oversized: past the 64 KiB header limit, and a long URI.
	add("oversized-headers", request("GET", "/", "X-A: {A*40000}\r\nX-B: {B*40000}\r\n", "", false))
	add("oversized-uri", request("GET", "/{A*100000}", "", "", false))
	add("oversized-cookie", request("GET", "/", "Cookie: gatehouse={A*70000}\r\n", "", false))
	add("many-headers", request("GET", "/", strings.Repeat("X-Many: 1\r\n", 3000), "", false))
	return out
}

func formatCorpus(entries [][2]string) string {
	var b strings.Builder
	b.WriteString("# Generated by corpusgen_test.go (go test ./internal/chaostest -run TestCorpusGenerated -update): do not edit.\n")
	b.WriteString("# One request per line: name, a tab, the raw request as a Go string literal; see corpus_test.go.\n")
	for _, e := range entries {
		b.WriteString(e[0] + "\t" + strconv.Quote(e[1]) + "\n")
	}
	return b.String()
}

// TestCorpusGenerated keeps the generated corpus in step with its
// generator: -update rewrites it.
func TestCorpusGenerated(t *testing.T) {
	want := formatCorpus(generateCorpus())
	if *update {
		if err := os.MkdirAll(filepath.Dir(generatedCorpus), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(generatedCorpus, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(generatedCorpus)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date: run go test ./internal/chaostest -run TestCorpusGenerated -update", generatedCorpus)
	}
}
