package convert

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// uiMapper maps oauth2-proxy's page options (custom_templates_dir, banner,
// custom_sign_in_logo, footer, provider_display_name) to [ui]
// (docs/ui.md). What the output holds must pass internal/config/ui.go's
// checks: plain text of at most 80 characters, https logo URLs, footer
// links with an absolute http(s), mailto: or path URL.
type uiMapper struct{ *converter }

// maxDisplayText is the longest ui.product_name and footer link text.
const maxDisplayText = 80

// mapUI writes [ui] from the page options.
func (c uiMapper) mapUI() {
	c.mapTemplates()
	c.mapBanner()
	c.mapLogo()
	c.mapFooter()
	c.report("provider_display_name", NoEquivalent, "Gatehouse's pages do not name the provider (a browser goes straight to it); "+
		"ui.product_name names the product in every page's header, set it if you want a name there")
	c.report("display_htpasswd_form", NoEquivalent, "no htpasswd sign-in form: users sign in at the provider")
}

// mapTemplates: oauth2-proxy's templates (sign_in.html, error.html) take
// other data than Gatehouse's, and a file of the same name would be read as
// Gatehouse's template and refuse the start: the key is only suggested.
func (c uiMapper) mapTemplates() {
	dir := c.str("custom_templates_dir")
	if dir == "" {
		return
	}
	c.doc.suggest("ui", "templates_dir", "/etc/gatehouse/templates", todo+": oauth2-proxy's templates in "+dir+" do not work here (other names and data):\n"+
		"copy the ones to change from Gatehouse's internal/ui/templates (layout.html, error.html, sign_in.html,\n"+
		"sign_out.html, signed_out.html, signing_out.html) into a directory, rewrite them (docs/ui.md) and name it here.")
	c.report("custom_templates_dir", Changed, "not carried over: the templates must be rewritten from Gatehouse's (layout.html, error.html, "+
		"sign_in.html, sign_out.html, signed_out.html, signing_out.html; other data, docs/ui.md), in a directory without oauth2-proxy's "+
		"sign_in.html and error.html; ui.templates_dir is written commented out", "ui.templates_dir")
}

// mapBanner: a short plain-text banner becomes the product's name.
func (c uiMapper) mapBanner() {
	b := strings.TrimSpace(c.str("banner"))
	switch text, ok := plainText(b); {
	case b == "":
	case b == "-":
		c.report("banner", Builtin, "Gatehouse's sign-in page has no banner")
	case ok:
		c.report("banner", Changed, "shown as the product's name in every page's header and title, not as a message on the sign-in page",
			c.doc.set("ui", "product_name", text, "banner"))
	default:
		c.report("banner", NoEquivalent, "HTML, or longer than 80 characters: ui.product_name is plain text; "+
			"put the banner in your own sign_in.html (ui.templates_dir, docs/ui.md)")
	}
}

// mapLogo: an https URL is ui.logo_url; oauth2-proxy also read a file,
// which Gatehouse does not.
func (c uiMapper) mapLogo() {
	logo := strings.TrimSpace(c.str("custom_sign_in_logo"))
	switch {
	case logo == "":
	case logo == "-":
		c.report("custom_sign_in_logo", Builtin, "Gatehouse's pages show no logo unless ui.logo_url is set")
	case isHTTPSURL(logo):
		c.report("custom_sign_in_logo", Mapped, "shown on every page, not only the sign-in page",
			c.doc.set("ui", "logo_url", logo, "custom_sign_in_logo"))
	case strings.HasPrefix(strings.ToLower(logo), "http:"):
		c.report("custom_sign_in_logo", NoEquivalent, "ui.logo_url must be an https URL (http only on loopback): serve the image over https")
	default:
		c.report("custom_sign_in_logo", NoEquivalent, "a file: Gatehouse does not read images from disk. Serve it over https, "+
			"or from the gateway's host (a skip_auth path of an upstream, e.g. a file:// upstream), and set ui.logo_url to that URL or path")
	}
}

// mapFooter: a footer of links only becomes [[ui.footer_links]].
func (c uiMapper) mapFooter() {
	f := strings.TrimSpace(c.str("footer"))
	switch links, ok := footerLinks(f); {
	case f == "":
	case f == "-":
		c.report("footer", Builtin, "Gatehouse's pages have no footer unless [[ui.footer_links]] are set")
	case ok:
		for i, l := range links {
			t := c.doc.appendTable("ui.footer_links")
			if i == 0 {
				t.comment = "footer"
			}
			t.set("text", l.text, "", false)
			t.set("url", l.url, "", false)
		}
		c.report("footer", Mapped, "its links; the text between them is not kept", "ui.footer_links")
	default:
		c.report("footer", NoEquivalent, "not only links (<a href=URL>text</a> with an http(s), mailto: or /path URL): "+
			"[[ui.footer_links]] hold links only; put other text in your own layout.html (ui.templates_dir, docs/ui.md)")
	}
}

// plainText returns HTML-free text (entities decoded) that ui accepts as a
// product name or link text.
func plainText(s string) (string, bool) {
	if strings.ContainsAny(s, "<>") {
		return "", false
	}
	t := strings.TrimSpace(html.UnescapeString(s))
	ok := t != "" && utf8.ValidString(t) && utf8.RuneCountInString(t) <= maxDisplayText && strings.IndexFunc(t, unicode.IsControl) < 0
	return t, ok
}

// isHTTPSURL reports whether s is an absolute https URL without user info
// or white space, as ui.logo_url wants.
func isHTTPSURL(s string) bool {
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && strings.EqualFold(u.Scheme, "https") && u.Host != "" && u.User == nil
}

// isLinkURL reports whether s may be a footer link: an absolute http(s)
// URL, a mailto: URL, or a path on the gateway's host.
func isLinkURL(s string) bool {
	if s == "" || strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return false
	}
	if strings.HasPrefix(s, "/") {
		return !strings.HasPrefix(s, "//") && !strings.HasPrefix(s, "/\\")
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "mailto":
		return u.Opaque != ""
	case "http", "https":
		return u.Host != "" && u.User == nil
	}
	return false
}

type footerLink struct{ text, url string }

var (
	anchorRE = regexp.MustCompile(`(?is)<a\s([^>]*)>(.*?)</a\s*>`)
	hrefRE   = regexp.MustCompile(`(?is)(?:^|\s)href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`)
)

// footerLinks parses a footer made of links alone, separated by white
// space or punctuation such as "|" or "·".
func footerLinks(f string) ([]footerLink, bool) {
	var links []footerLink
	for _, m := range anchorRE.FindAllStringSubmatch(f, -1) {
		h := hrefRE.FindStringSubmatch(m[1])
		if h == nil {
			return nil, false
		}
		u := strings.TrimSpace(html.UnescapeString(h[1] + h[2] + h[3]))
		text, ok := plainText(m[2])
		if !ok || !isLinkURL(u) {
			return nil, false
		}
		links = append(links, footerLink{text, u})
	}
	rest := html.UnescapeString(anchorRE.ReplaceAllString(f, " "))
	sep := func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune("|·•-–—/,", r) }
	if len(links) == 0 || strings.IndexFunc(rest, func(r rune) bool { return !sep(r) }) >= 0 {
		return nil, false
	}
	return links, true
}
