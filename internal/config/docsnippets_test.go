package config

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// docsWithSnippets are the docs whose ```toml blocks must each be a valid
// configuration, and the least number of blocks each holds (so that a
// broken extraction cannot pass by finding none).
var docsWithSnippets = []struct {
	path string
	min  int
}{
	{"../../docs/migrating-from-oauth2-proxy.md", 2},
	{"../../docs/provider-recipes.md", 8},
	{"../../docs/integrations.md", 4},
	{"../../docs/identity-assertion.md", 1},
	{"../../docs/upstreams.md", 3},
}

// fragmentMarker, alone on a line of a ```toml block or followed by ":" and
// a comment, marks the block as a fragment: it is completed with fragmentBase before it is checked. A block
// without it must be a whole configuration as written.
const fragmentMarker = "# fragment"

// fragmentBase holds the required keys that a fragment may leave out. The
// fragment's values replace these; its [[upstream]] tables replace this one.
const fragmentBase = `
[server]
public_url = "https://app.example.com"
[provider]
issuer = "https://as.example.com"
client_id = "gatehouse"
[[upstream]]
url = "http://127.0.0.1:8080"
`

// docsSecrets stand in for the secrets the snippets take from the
// environment or a *_file: a cookie secret that is not the published
// example, and placeholders for the others.
var docsSecrets = map[string]string{
	EnvClientSecret:  "docs-client-secret",
	EnvCookieSecret:  base64.StdEncoding.EncodeToString([]byte("docs-snippet-test-cookie-secret!")),
	EnvRedisPassword: "docs-redis-password",
}

// secretFileKey matches the *_file keys that Parse reads (the secrets);
// the key files and certificates are read only when the gateway starts.
var secretFileKey = regexp.MustCompile(`(?m)^(\s*(client_secret_file|cookie_secret_file|password_file)\s*=\s*)"[^"]*"`)

type tomlSnippet struct {
	line     int // of the opening fence
	text     string
	fragment bool
}

// tomlSnippets returns the ```toml blocks of a Markdown document.
func tomlSnippets(doc string) []tomlSnippet {
	var (
		out []tomlSnippet
		cur *tomlSnippet
		buf strings.Builder
	)
	for i, line := range strings.Split(doc, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && trimmed == "```toml":
			cur = &tomlSnippet{line: i + 1}
			buf.Reset()
		case cur != nil && trimmed == "```":
			cur.text = buf.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			if trimmed == fragmentMarker || strings.HasPrefix(trimmed, fragmentMarker+":") {
				cur.fragment = true
			}
			buf.WriteString(line)
			buf.WriteByte('\n')
		}
	}
	return out
}

// checkSnippet parses and validates one snippet as Gatehouse would load
// it, without any network access. Secrets come from docsSecrets: a secret
// *_file is replaced by a file in dir holding the placeholder.
func checkSnippet(s tomlSnippet, dir string) error {
	text := s.text
	if s.fragment {
		merged, err := completeFragment(text)
		if err != nil {
			return err
		}
		text = merged
	}
	var ferr error
	text = secretFileKey.ReplaceAllStringFunc(text, func(m string) string {
		sub := secretFileKey.FindStringSubmatch(m)
		secret := docsSecrets[EnvClientSecret]
		switch sub[2] {
		case "cookie_secret_file":
			secret = docsSecrets[EnvCookieSecret]
		case "password_file":
			secret = docsSecrets[EnvRedisPassword]
		}
		f, err := os.CreateTemp(dir, sub[2])
		if err == nil {
			_, err = f.WriteString(secret + "\n")
			err = errors.Join(err, f.Close())
		}
		if err != nil {
			ferr = err
			return m
		}
		return sub[1] + fmt.Sprintf("%q", f.Name())
	})
	if ferr != nil {
		return ferr
	}
	c, err := Parse([]byte(text), func(k string) string { return docsSecrets[k] })
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	return nil
}

// completeFragment merges a fragment over fragmentBase, table by table,
// and returns the result as TOML.
func completeFragment(fragment string) (string, error) {
	var base, frag map[string]any
	if _, err := toml.Decode(fragmentBase, &base); err != nil {
		return "", fmt.Errorf("fragment base: %w", err)
	}
	if _, err := toml.Decode(fragment, &frag); err != nil {
		return "", fmt.Errorf("decode fragment: %w", err)
	}
	mergeTables(base, frag)
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(base); err != nil {
		return "", fmt.Errorf("encode completed fragment: %w", err)
	}
	return b.String(), nil
}

// mergeTables sets every key of src in dst, merging tables present in both.
func mergeTables(dst, src map[string]any) {
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			if d, ok := dst[k].(map[string]any); ok {
				mergeTables(d, sub)
				continue
			}
		}
		dst[k] = v
	}
}

// TestDocsTOMLSnippetsValidate checks that every TOML snippet of the docs
// that configure Gatehouse from other products' settings (the oauth2-proxy
// migration guide, the provider recipes, the integrations) is a
// configuration that Gatehouse accepts: strict decoding (an unknown or
// misspelt key fails) and Validate. Snippets marked "# fragment" are
// completed with the required keys first.
func TestDocsTOMLSnippetsValidate(t *testing.T) {
	dir := t.TempDir()
	for _, d := range docsWithSnippets {
		t.Run(filepath.Base(d.path), func(t *testing.T) {
			data, err := os.ReadFile(d.path)
			if err != nil {
				t.Fatal(err)
			}
			snippets := tomlSnippets(string(data))
			if len(snippets) < d.min {
				t.Fatalf("found %d ```toml blocks, want at least %d", len(snippets), d.min)
			}
			for _, s := range snippets {
				if err := checkSnippet(s, dir); err != nil {
					kind := "snippet"
					if s.fragment {
						kind = "fragment"
					}
					t.Errorf("%s:%d: %s is not a valid configuration:\n%v", d.path, s.line, kind, err)
				}
			}
		})
	}
}

// TestDocsSnippetCheckRefusesBadSnippets proves that the check of
// TestDocsTOMLSnippetsValidate fails for what it must catch.
func TestDocsSnippetCheckRefusesBadSnippets(t *testing.T) {
	whole := `
[server]
public_url = "https://app.example.com"
[provider]
issuer = "https://as.example.com"
client_id = "gatehouse"
client_secret_file = "/run/secrets/client-secret"
[session]
cookie_secret_file = "/run/secrets/cookie-secret"
[[upstream]]
url = "http://127.0.0.1:8080"
`
	tests := []struct {
		name    string
		snippet tomlSnippet
		wantErr string // "" for a valid snippet
	}{
		{"whole config with secret files", tomlSnippet{text: whole}, ""},
		{"fragment", tomlSnippet{text: "# fragment\n[headers]\nuser = \"oid\"\n", fragment: true}, ""},
		{"fragment with upstreams", tomlSnippet{text: "# fragment\n[[upstream]]\npath_prefix = \"/admin\"\nurl = \"http://127.0.0.1:9\"\nallowed_groups = [\"admins\"]\n", fragment: true}, ""},
		{"unknown key", tomlSnippet{text: whole + "email_domains = [\"example.com\"]\n"}, `unknown key "upstream.email_domains"`},
		{"unknown key in fragment", tomlSnippet{text: "# fragment\n[provider]\noidc_issuer_url = \"https://as.example.com\"\n", fragment: true}, `unknown key "provider.oidc_issuer_url"`},
		{"wrong type", tomlSnippet{text: "# fragment\n[session]\nlifetime = 12\n", fragment: true}, "lifetime"},
		{"invalid value", tomlSnippet{text: "# fragment\n[provider]\nend_session_binding = \"redirect\"\n", fragment: true}, "provider.end_session_binding"},
		{"fragment not marked", tomlSnippet{text: "[headers]\nuser = \"oid\"\n"}, "server.public_url: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkSnippet(tt.snippet, t.TempDir())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("checkSnippet: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("checkSnippet accepted it, want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("checkSnippet: %v\nwant an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestTOMLSnippetsExtraction pins down how blocks are found and marked.
func TestTOMLSnippetsExtraction(t *testing.T) {
	doc := "text\n```toml\n# fragment\n[server]\n```\n\n```nginx\nserver {}\n```\n```toml\n[provider]\n```\n"
	got := tomlSnippets(doc)
	want := []tomlSnippet{
		{line: 2, text: "# fragment\n[server]\n", fragment: true},
		{line: 10, text: "[provider]\n"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d snippets, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("snippet %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
