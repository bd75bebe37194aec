package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/internal/ui"
)

// UI configures the pages browsers see (errors, sign-in, sign-out): the
// product's name, logo and colours, footer links, and templates that
// replace the built-in ones (docs/ui.md).
type UI struct {
	// ProductName is shown in every page's header and title. At most 80
	// characters. Default "Gatehouse".
	ProductName string `toml:"product_name"`
	// LogoURL is an image shown before the product name: an absolute
	// https URL (http for a loopback host) or a path on the gateway's host
	// ("/static/logo.svg", served by an upstream). Default none.
	LogoURL string `toml:"logo_url"`
	// PrimaryColor is the colour of buttons and links, a CSS hex colour
	// ("#rgb" or "#rrggbb"). Text on it is black or white, whichever
	// contrasts more. Default "#2f6fde".
	PrimaryColor string `toml:"primary_color"`
	// BackgroundColor is the pages' background, a CSS hex colour.
	// Default "#f4f5f7".
	BackgroundColor string `toml:"background_color"`
	// FooterLinks are links under every page (imprint, privacy, help).
	FooterLinks []UILink `toml:"footer_links"`
	// TemplatesDir is a directory whose files replace the built-in
	// templates of the same name (layout.html, error.html, sign_in.html,
	// sign_out.html, signed_out.html, signing_out.html). Every template is
	// checked at start-up; one that does not parse or render refuses the
	// start, naming its file. Default none.
	TemplatesDir string `toml:"templates_dir"`
}

// UILink is a footer link.
type UILink struct {
	// Text is the link's text. Required.
	Text string `toml:"text"`
	// URL is an absolute http(s) URL, a mailto: URL or a path. Required.
	URL string `toml:"url"`
}

func uiDefaults() UI {
	return UI{ProductName: "Gatehouse", PrimaryColor: ui.DefaultPrimaryColor, BackgroundColor: ui.DefaultBackgroundColor}
}

// validate checks [ui]; templates_dir is read by [Compile].
func (u *UI) validate(p *problems) {
	if u.ProductName != "" && !isDisplayText(u.ProductName, 80) {
		p.add("ui.product_name", "must be at most 80 characters without control characters")
	}
	if u.LogoURL != "" && !isPageURL(u.LogoURL, false) {
		p.add("ui.logo_url", "%q is not an absolute https URL (http for a loopback host) or a path starting with /", u.LogoURL)
	}
	for key, v := range map[string]string{"ui.primary_color": u.PrimaryColor, "ui.background_color": u.BackgroundColor} {
		if v != "" && !ui.IsHexColor(v) {
			p.add(key, "%q is not a CSS hex colour (#rgb or #rrggbb)", v)
		}
	}
	for i, l := range u.FooterLinks {
		key := fmt.Sprintf("ui.footer_links[%d]", i)
		if l.Text == "" || !isDisplayText(l.Text, 80) {
			p.add(key+".text", "required, at most 80 characters without control characters")
		}
		if !isPageURL(l.URL, true) {
			p.add(key+".url", "%q is not an absolute http(s) URL, a mailto: URL or a path starting with /", l.URL)
		}
	}
}

// isDisplayText reports whether s is printable text of at most max runes.
func isDisplayText(s string, max int) bool {
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= max && strings.IndexFunc(s, unicode.IsControl) < 0
}

// isPageURL reports whether s may be a link or image of the pages: a path
// on the gateway's host, an https URL, http for a loopback host, and with
// link a mailto: URL or any http URL.
func isPageURL(s string, link bool) bool {
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return false
	}
	if strings.HasPrefix(s, "/") {
		return !strings.HasPrefix(s, "//") && !strings.HasPrefix(s, "/\\")
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch {
	case link && u.Scheme == "mailto":
		return u.Opaque != ""
	case u.Host == "" || u.User != nil:
		return false
	case u.Scheme == "https":
		return true
	case u.Scheme == "http":
		return link || isLoopback(u.Hostname())
	}
	return false
}

// compileUI parses and checks the pages' templates for [ui].
func compileUI(c *Config) (*ui.Pages, error) {
	u := c.UI
	links := make([]ui.Link, len(u.FooterLinks))
	for i, l := range u.FooterLinks {
		links[i] = ui.Link{Text: l.Text, URL: l.URL}
	}
	pages, err := ui.New(ui.Options{
		ProductName: u.ProductName, LogoURL: u.LogoURL, PrimaryColor: u.PrimaryColor, BackgroundColor: u.BackgroundColor,
		FooterLinks: links, TemplatesDir: u.TemplatesDir,
	})
	if err != nil { // each problem on its own, with its key (check-config prints one a line)
		var errs []error
		for _, e := range flatten(err) {
			errs = append(errs, fmt.Errorf("ui.templates_dir: %w", e))
		}
		return nil, errors.Join(errs...)
	}
	return pages, nil
}

// flatten returns the errors an errors.Join holds, recursively; err itself
// when it is no join.
func flatten(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}
