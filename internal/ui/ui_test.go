package ui_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/ui"
)

func render(t *testing.T, p *ui.Pages, name, acceptLanguage string, d *ui.Data) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	if acceptLanguage != "" {
		r.Header.Set("Accept-Language", acceptLanguage)
	}
	w := httptest.NewRecorder()
	p.Render(w, r, d.Status, name, d)
	return w.Result(), w.Body.String()
}

func TestEveryPageIsAccessibleHTML(t *testing.T) {
	p := ui.Default()
	for _, name := range ui.Names()[1:] {
		t.Run(name, func(t *testing.T) {
			resp, body := render(t, p, name, "", &ui.Data{Status: 403, Title: "Access denied", Code: "forbidden"})
			if resp.StatusCode != 403 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || resp.Header.Get("Content-Language") != "en" {
				t.Errorf("status %d, headers %v", resp.StatusCode, resp.Header)
			}
			for _, want := range []string{`<html lang="en">`, `<meta name="viewport" content="width=device-width, initial-scale=1">`,
				`<main id="main">`, `<header>`, "<h1>Access denied</h1>", "<title>Access denied · Gatehouse</title>"} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q:\n%s", want, body)
				}
			}
		})
	}
}

func TestLanguageFromAcceptLanguage(t *testing.T) {
	tests := []struct{ header, want string }{
		{"", "en"},
		{"de-CH, en;q=0.5", "de"},
		{"fr-FR,fr;q=0.9", "fr"},
		{"it", "it"},
		{"es, it;q=0.3", "it"},
		{"ja", "en"},
		{"en-GB;q=0.9, de;q=0.8", "en"},
		{";;;garbage", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			if got := ui.Negotiate(tt.header).String(); got != tt.want {
				t.Errorf("Negotiate(%q) = %s, want %s", tt.header, got, tt.want)
			}
		})
	}
}

func TestPagesAreTranslated(t *testing.T) {
	p := ui.Default()
	tests := []struct{ lang, title, button string }{
		{"de", "Zugriff verweigert", "Anderes Konto verwenden"},
		{"fr", "Accès refusé", "Utiliser un autre compte"},
		{"it", "Accesso negato", "Usa un altro account"},
		{"en", "Access denied", "Use another account"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			resp, body := render(t, p, ui.Error, tt.lang, &ui.Data{Status: 403, Title: "Access denied", Code: "forbidden", User: "a@example.com", SwitchAccount: "/oauth2/start"})
			if !strings.Contains(body, `<html lang="`+tt.lang+`">`) || !strings.Contains(body, tt.title) || !strings.Contains(body, tt.button) {
				t.Errorf("%s page lacks its language's texts:\n%s", tt.lang, body)
			}
			if got := resp.Header.Get("Content-Language"); got != tt.lang {
				t.Errorf("Content-Language %q", got)
			}
			if !strings.Contains(resp.Header.Get("Vary"), "Accept-Language") {
				t.Errorf("no Vary: Accept-Language")
			}
		})
	}
}

func TestBranding(t *testing.T) {
	p, err := ui.New(ui.Options{
		ProductName: "Acme Portal", LogoURL: "https://cdn.example.com/logo.svg", PrimaryColor: "#ffcc00", BackgroundColor: "#102030",
		FooterLinks: []ui.Link{{Text: "Privacy", URL: "https://example.com/privacy"}, {Text: "Help", URL: "/help"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, body := render(t, p, ui.SignedOut, "", &ui.Data{Status: 200, Title: "You are signed out", SignIn: "/"})
	for _, want := range []string{"· Acme Portal</title>", `<img src="https://cdn.example.com/logo.svg" alt="">`, "<span>Acme Portal</span>",
		`<a href="https://example.com/privacy">Privacy</a>`, `<a href="/help">Help</a>`, `<nav aria-label="Links">`,
		// a light primary colour gets dark button text, and links fall back
		// to the text colour; a dark background gets light text.
		"--primary:#ffcc00;--on-primary:#1f2933;--link:#1f2933;--bg:#102030;--on-bg:#ffffff"} {
		if !strings.Contains(body, want) {
			t.Errorf("branded page lacks %q:\n%s", want, body)
		}
	}
	if got, want := p.CSP(""), "default-src 'none'; style-src 'unsafe-inline'; img-src https://cdn.example.com; frame-ancestors 'none'; base-uri 'none'"; got != want {
		t.Errorf("CSP = %q, want %q", got, want)
	}
	if got := ui.Default().CSP("n0nce"); strings.Contains(got, "img-src") || !strings.Contains(got, "script-src 'nonce-n0nce'") {
		t.Errorf("default CSP = %q", got)
	}
}

func TestHexColors(t *testing.T) {
	for s, want := range map[string]bool{"#fff": true, "#2f6fde": true, "#2F6FDE": true, "fff": false, "#ffff": false, "#ggg": false, "red": false, "#12345": false, "": false} {
		if got := ui.IsHexColor(s); got != want {
			t.Errorf("IsHexColor(%q) = %v", s, got)
		}
	}
	if _, err := ui.New(ui.Options{PrimaryColor: "blue"}); err == nil {
		t.Error("New accepted primary colour \"blue\"")
	}
}

// writeTemplates writes files into a new templates directory.
func writeTemplates(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestTemplatesDirReplacesAPage(t *testing.T) {
	dir := writeTemplates(t, map[string]string{
		"error.html": `{{define "content"}}<h1>Custom: {{.T .Title}}</h1><p>{{.T "Start again"}}</p>{{end}}{{template "layout" .}}`,
		"README.md":  "not a template",
	})
	p, err := ui.New(ui.Options{TemplatesDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, body := render(t, p, ui.Error, "de", &ui.Data{Status: 404, Title: "Not found"})
	if !strings.Contains(body, "<h1>Custom: Nicht gefunden</h1>") || !strings.Contains(body, `<html lang="de">`) {
		t.Errorf("replaced page not used:\n%s", body)
	}
	_, body = render(t, p, ui.SignedOut, "", &ui.Data{Status: 200, Title: "You are signed out"})
	if !strings.Contains(body, "<h1>You are signed out</h1>") {
		t.Errorf("the other pages are not the embedded ones:\n%s", body)
	}
}

func TestTemplatesDirRefusesABadTemplate(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // in the error
	}{
		{"syntax error", map[string]string{"error.html": `{{define "content"}}{{if .Title}}{{end}}{{template "layout" .}}`}, []string{"error.html"}},
		{"unknown message", map[string]string{"sign_out.html": `{{define "content"}}{{.T "Log off now"}}{{end}}{{template "layout" .}}`},
			[]string{"sign_out.html", `"Log off now"`}},
		{"unknown field", map[string]string{"signed_out.html": `{{define "content"}}{{.Nonsense}}{{end}}{{template "layout" .}}`},
			[]string{"signed_out.html", "Nonsense"}},
		{"no content", map[string]string{"sign_in.html": `{{template "layout" .}}`}, []string{"sign_in.html", `"content"`}},
		{"bad layout", map[string]string{"layout.html": `{{define "layout"}}<html>{{.T "Nope"}}{{end}}`}, []string{"layout.html", `"Nope"`}},
		{"unknown file", map[string]string{"eror.html": `x`}, []string{"eror.html", "not a template name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ui.New(ui.Options{TemplatesDir: writeTemplates(t, tt.files)})
			if err == nil {
				t.Fatal("New accepted a bad template")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	if _, err := ui.New(ui.Options{TemplatesDir: filepath.Join(t.TempDir(), "missing")}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing directory: %v", err)
	}
}

func TestUserIsEscaped(t *testing.T) {
	_, body := render(t, ui.Default(), ui.Error, "", &ui.Data{Status: 403, Title: "Access denied", User: `<script>alert(1)</script>"`, SignOut: "/oauth2/sign_out"})
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;&#34;") {
		t.Errorf("the user name is not escaped:\n%s", body)
	}
}

// TestReplacementFailingAtRunTimeFallsBack: a replaced template that fails
// on data the start-up check did not try gives the built-in page, not a
// broken one.
func TestReplacementFailingAtRunTimeFallsBack(t *testing.T) {
	dir := writeTemplates(t, map[string]string{
		"error.html": `{{define "content"}}<h1>Custom</h1>{{if eq .Code "boom"}}{{index .Brand.FooterLinks 5}}{{end}}{{end}}{{template "layout" .}}`,
	})
	p, err := ui.New(ui.Options{TemplatesDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, body := render(t, p, ui.Error, "", &ui.Data{Status: 404, Code: "not_found", Title: "Not found"}); !strings.Contains(body, "<h1>Custom</h1>") {
		t.Errorf("the replacement is not used:\n%s", body)
	}
	resp, body := render(t, p, ui.Error, "", &ui.Data{Status: 500, Code: "boom", Title: "Something went wrong"})
	if resp.StatusCode != 500 || strings.Contains(body, "Custom") || !strings.Contains(body, "<h1>Something went wrong</h1>") || !strings.HasSuffix(strings.TrimSpace(body), "</html>") {
		t.Errorf("status %d, want the built-in page:\n%s", resp.StatusCode, body)
	}
}

// TestRenderUnknownNameIsTheErrorPage: a name that is no page renders the
// error page with the data it was given, and does not panic.
func TestRenderUnknownNameIsTheErrorPage(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	ui.Default().Render(w, r, http.StatusNotFound, "x.png", &ui.Data{Status: http.StatusNotFound, Title: "Not found", Code: "not_found"})
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "Not found") {
		t.Errorf("status %d, body %q: want the error page saying Not found", w.Code, w.Body.String())
	}
}
