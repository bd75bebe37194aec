package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateUI(t *testing.T) {
	tests := []struct {
		name string
		set  func(*UI)
		want string // "" for valid
	}{
		{"defaults", func(*UI) {}, ""},
		{"branded", func(u *UI) {
			u.ProductName, u.LogoURL, u.PrimaryColor, u.BackgroundColor = "Acme Portal", "https://cdn.example.com/l.svg", "#C0FFEE", "#fff"
			u.FooterLinks = []UILink{{Text: "Privacy", URL: "https://example.com/p"}, {Text: "Help", URL: "/help"}, {Text: "Mail", URL: "mailto:it@example.com"}}
		}, ""},
		{"logo path", func(u *UI) { u.LogoURL = "/static/logo.png" }, ""},
		{"logo on loopback http", func(u *UI) { u.LogoURL = "http://127.0.0.1:8080/logo.png" }, ""},
		{"colour name", func(u *UI) { u.PrimaryColor = "blue" }, `ui.primary_color: "blue" is not a CSS hex colour`},
		{"colour with four digits", func(u *UI) { u.BackgroundColor = "#ffff" }, "ui.background_color:"},
		{"colour injection", func(u *UI) { u.PrimaryColor = "#fff;}body{display:none" }, "ui.primary_color:"},
		{"logo over http", func(u *UI) { u.LogoURL = "http://cdn.example.com/l.svg" }, "ui.logo_url:"},
		{"logo javascript", func(u *UI) { u.LogoURL = "javascript:alert(1)" }, "ui.logo_url:"},
		{"logo protocol-relative", func(u *UI) { u.LogoURL = "//evil.example/l.svg" }, "ui.logo_url:"},
		{"product name with newline", func(u *UI) { u.ProductName = "A\nB" }, "ui.product_name:"},
		{"product name too long", func(u *UI) { u.ProductName = strings.Repeat("x", 81) }, "ui.product_name:"},
		{"link without text", func(u *UI) { u.FooterLinks = []UILink{{URL: "/x"}} }, "ui.footer_links[0].text:"},
		{"link javascript", func(u *UI) {
			u.FooterLinks = []UILink{{Text: "x", URL: "/ok"}, {Text: "y", URL: "javascript:alert(1)"}}
		}, "ui.footer_links[1].url:"},
		{"link relative", func(u *UI) { u.FooterLinks = []UILink{{Text: "x", URL: "help"}} }, "ui.footer_links[0].url:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.set(&c.UI)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestCompileRefusesABadTemplate: a template of ui.templates_dir that does
// not parse refuses the start, naming the key and the file.
func TestCompileRefusesABadTemplate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "error.html")
	if err := os.WriteFile(bad, []byte(`{{define "content"}}{{.Title}{{end}}{{template "layout" .}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := validConfig(t)
	c.UI.TemplatesDir = dir
	_, err := Compile(c)
	if err == nil || !strings.Contains(err.Error(), "ui.templates_dir") || !strings.Contains(err.Error(), bad) {
		t.Fatalf("Compile = %v, want an error naming ui.templates_dir and %s", err, bad)
	}
	if err := os.WriteFile(bad, []byte(`{{define "content"}}<h1>{{.T .Title}}</h1>{{end}}{{template "layout" .}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, err := Compile(c)
	if err != nil || rt.Pages == nil {
		t.Fatalf("Compile with a good template: %v", err)
	}
}
