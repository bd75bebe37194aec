// Package ui renders every HTML page the gateway shows a browser: the error
// pages (400 to 504), the sign-in page (401), the sign-out confirmation,
// the "signed out" page and the page that submits RP-initiated logout. One
// template set (html/template, embedded), one layout, branded with Options
// (product name, logo, colours, footer links) and translated into English,
// German, French and Italian, chosen from Accept-Language.
//
// Operators can replace any page, or the layout, with a file of the same
// name in Options.TemplatesDir. New parses and checks every template once,
// at start-up: a template that does not parse, names a message the catalog
// does not have, or fails to render sample data is an error naming its file.
package ui

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template/parse"

	"golang.org/x/text/language"
)

// Page names: the template file of each page.
const (
	// Layout is the frame every page is rendered in; it defines "layout"
	// and calls the page's "content".
	Layout = "layout.html"
	// Error is every error page (400, 403, 404, 429, 5xx ...).
	Error = "error.html"
	// SignIn is the 401 page a browser gets where the gateway cannot send
	// it to sign in itself (GET /oauth2/userinfo, forward-auth).
	SignIn = "sign_in.html"
	// SignOut is the confirmation of GET /oauth2/sign_out.
	SignOut = "sign_out.html"
	// SignedOut is the page after a sign-out without a return URL.
	SignedOut = "signed_out.html"
	// SigningOut submits the RP-initiated logout request to the AS.
	SigningOut = "signing_out.html"
)

// pageNames are the pages, not counting the layout.
var pageNames = []string{Error, SignIn, SignOut, SignedOut, SigningOut}

//go:embed templates/*.html
var embedded embed.FS

// Link is a link of the pages' footer.
type Link struct {
	Text string
	URL  string
}

// Options configures the pages. The zero value is the default look:
// "Gatehouse", no logo, blue on light grey, no footer.
type Options struct {
	// ProductName is shown in the header and the page titles (default
	// "Gatehouse").
	ProductName string
	// LogoURL is an image shown before the product name: an absolute
	// http(s) URL or a path on the gateway's host. Empty: no logo.
	LogoURL string
	// PrimaryColor is the colour of buttons and links, "#rgb" or
	// "#rrggbb" (default "#2f6fde").
	PrimaryColor string
	// BackgroundColor is the page's background (default "#f4f5f7").
	BackgroundColor string
	// FooterLinks are shown under every page.
	FooterLinks []Link
	// TemplatesDir, when set, is a directory whose files replace the
	// embedded templates of the same name (layout.html, error.html,
	// sign_in.html, sign_out.html, signed_out.html, signing_out.html).
	TemplatesDir string
}

// Pages renders the gateway's pages. It is safe for concurrent use.
type Pages struct {
	sets     map[string]*template.Template
	fallback map[string]*template.Template // the embedded ones, when a replacement fails at run time
	brand    Brand
	imgSrc   string
}

// Brand is what the layout shows of the product.
type Brand struct {
	Name        string
	LogoURL     string
	FooterLinks []Link
	// CSS holds the colour custom properties (--primary, --on-primary,
	// --link, --bg, --on-bg) of the layout's :root rule.
	CSS template.CSS
}

// New parses and checks the templates for opts. The caller validates opts'
// values (colours, URLs); New reports a bad colour too.
func New(opts Options) (*Pages, error) {
	theme, err := newTheme(opts.PrimaryColor, opts.BackgroundColor)
	if err != nil {
		return nil, err
	}
	p := &Pages{brand: Brand{Name: opts.ProductName, LogoURL: opts.LogoURL, FooterLinks: slices.Clone(opts.FooterLinks), CSS: theme.css()}}
	if p.brand.Name == "" {
		p.brand.Name = "Gatehouse"
	}
	p.imgSrc = imgSource(opts.LogoURL)
	texts, err := readTemplates(embedded, "templates")
	if err != nil {
		return nil, err
	}
	if p.fallback, err = parseSets(texts); err != nil {
		return nil, fmt.Errorf("ui: embedded templates: %w", err)
	}
	if opts.TemplatesDir == "" {
		p.sets = p.fallback
	} else {
		own, err := readDir(opts.TemplatesDir)
		if err != nil {
			return nil, err
		}
		for name, text := range own {
			texts[name] = text
		}
		if p.sets, err = parseSets(texts); err != nil {
			return nil, err
		}
	}
	paths := map[string]string{}
	for name, text := range texts {
		paths[name], _ = splitPath(text)
	}
	if err := p.check(paths); err != nil {
		return nil, err
	}
	return p, nil
}

// Default returns the pages without branding or replaced templates.
func Default() *Pages {
	p, err := New(Options{})
	if err != nil {
		panic(err) // the embedded templates are tested
	}
	return p
}

// readDir reads the replacement templates of dir: every *.html file must
// be the name of a template.
func readDir(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("templates directory: %w", err)
	}
	out := map[string]string{}
	known := append([]string{Layout}, pageNames...)
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".html" {
			continue
		}
		if !slices.Contains(known, e.Name()) {
			return nil, fmt.Errorf("%s: not a template name (one of %s)", filepath.Join(dir, e.Name()), strings.Join(known, ", "))
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out[e.Name()] = string(b)
	}
	return withPaths(out, dir), nil
}

// pathMarker separates a template's source path from its text in the map
// readTemplates and readDir return.
const pathMarker = "\x00"

func withPaths(texts map[string]string, dir string) map[string]string {
	for name, text := range texts {
		texts[name] = filepath.Join(dir, name) + pathMarker + text
	}
	return texts
}

func readTemplates(fsys fs.FS, dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range append([]string{Layout}, pageNames...) {
		b, err := fs.ReadFile(fsys, dir+"/"+name)
		if err != nil {
			return nil, fmt.Errorf("ui: embedded template: %w", err)
		}
		out[name] = string(b)
	}
	return withPaths(out, "(embedded)"), nil
}

func splitPath(s string) (path, text string) {
	path, text, _ = strings.Cut(s, pathMarker)
	return path, text
}

// parseSets parses each page with the layout into a set of its own.
func parseSets(texts map[string]string) (map[string]*template.Template, error) {
	layoutPath, layout := splitPath(texts[Layout])
	sets := make(map[string]*template.Template, len(pageNames))
	var errs []error
	for _, name := range pageNames {
		path, text := splitPath(texts[name])
		t := template.New(name).Option("missingkey=error")
		if _, err := t.New(Layout).Parse(layout); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", layoutPath, err))
			break
		}
		if _, err := t.Parse(text); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			continue
		}
		for _, tt := range t.Templates() {
			if tt.Tree == nil {
				continue
			}
			src := path
			if tt.Name() == Layout || tt.Name() == "layout" {
				src = layoutPath
			}
			for _, key := range messageKeys(tt.Tree.Root) {
				if !HasMessage(key) {
					errs = append(errs, fmt.Errorf("%s: message %q is not in the catalog (see docs/ui.md)", src, key))
				}
			}
		}
		if t.Lookup("content") == nil {
			errs = append(errs, fmt.Errorf("%s: defines no \"content\" template", path))
			continue
		}
		if t.Lookup("layout") == nil {
			errs = append(errs, fmt.Errorf("%s: defines no \"layout\" template", layoutPath))
			break
		}
		sets[name] = t
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return sets, nil
}

// messageKeys returns the string constants the templates under n pass to
// .T as their message.
func messageKeys(n parse.Node) []string {
	var keys []string
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			if len(n.Args) >= 2 {
				if f, ok := n.Args[0].(*parse.FieldNode); ok && len(f.Ident) > 0 && f.Ident[len(f.Ident)-1] == "T" {
					if s, ok := n.Args[1].(*parse.StringNode); ok {
						keys = append(keys, s.Text)
					}
				}
			}
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		}
	}
	walk(n)
	return keys
}

// check renders every page with sample data in every language, so that a
// replacement that refers to a missing field fails at start-up, not when a
// user first meets the page.
func (p *Pages) check(paths map[string]string) error {
	var errs []error
	for _, name := range pageNames {
		for _, tag := range languages {
			d := sampleData()
			d.Lang, d.lang, d.Brand = tag.String(), tag, p.brand
			if err := p.sets[name].Execute(new(bytes.Buffer), d); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", paths[name], err))
				break
			}
		}
	}
	return errors.Join(errs...)
}

func sampleData() *Data {
	return &Data{
		Status: http.StatusForbidden, Code: "forbidden", Title: "Access denied",
		Detail: "This request method is not allowed here.", Retry: "/oauth2/start?rd=%2F", SignIn: "/oauth2/start",
		User: "alice@example.com", SignOut: "/oauth2/sign_out", SwitchAccount: "/oauth2/start?prompt=select_account&rd=%2F", RD: "/",
		EndSession: EndSession{Action: "https://as.example.com/logout", Fields: []Field{{Name: "id_token_hint", Value: "x"}}},
		Nonce:      "sample",
	}
}

// Data is what a page template gets. The caller fills in the page's own
// fields; Render sets Lang and Brand.
type Data struct {
	// Lang is the page's language (BCP 47: "en", "de", "fr", "it").
	Lang  string
	Brand Brand
	// Status and Code are the HTTP status and the gateway's error code.
	Status int
	Code   string
	// Title and Detail are in English; templates translate them with .T.
	Title  string
	Detail string
	// Retry is "Start again": a login that keeps the page first asked for.
	Retry string
	// SignIn is where "Sign in" goes: on sign_in.html the action of a GET
	// form (the gateway's /oauth2/start) whose rd field is RD; on
	// signed_out.html a link.
	SignIn string
	// User is who is signed in (e-mail address, else subject) on a 403.
	User string
	// SignOut is the action of the sign-out form (a same-origin POST).
	SignOut string
	// SwitchAccount starts a login with prompt=select_account.
	SwitchAccount string
	// RD is the return URL of the sign-in form and of the sign-out
	// confirmation (their hidden rd field).
	RD string
	// EndSession is the RP-initiated logout form (signing_out.html).
	EndSession EndSession
	// Nonce is the Content-Security-Policy nonce of the page's script.
	Nonce string

	lang language.Tag
}

// EndSession is the form that carries the RP-initiated logout request.
type EndSession struct {
	Action string
	Fields []Field
}

// Field is a hidden form field.
type Field struct{ Name, Value string }

// T returns message key (the English text) in the page's language, with
// args formatted into it (fmt verbs); a key the catalog lacks is returned
// as it is.
func (d *Data) T(key string, args ...any) string {
	s := translate(d.lang, key)
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Render writes page name with status, in the language r's Accept-Language
// prefers, with the headers every page has (Content-Type,
// Content-Language, Cache-Control no-store, nosniff, Vary) but the
// Content-Security-Policy, which the caller sets from [Pages.CSP]. A
// replaced template that fails at run time is logged by nobody: the
// embedded page is rendered instead. A name that is not one of [Names]
// renders the error page.
func (p *Pages) Render(w http.ResponseWriter, r *http.Request, status int, name string, d *Data) {
	tag := Negotiate(r.Header.Get("Accept-Language"))
	d.Lang, d.lang, d.Brand = tag.String(), tag, p.brand
	if _, ok := p.sets[name]; !ok { // not a page of Names: the error page, never a panic
		name = Error
	}
	var buf bytes.Buffer
	if err := p.sets[name].Execute(&buf, d); err != nil {
		buf.Reset()
		_ = p.fallback[name].Execute(&buf, d)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", d.Lang)
	h.Add("Vary", "Accept-Language")
	h.Set("X-Content-Type-Options", "nosniff")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// CSP returns the pages' Content-Security-Policy: nothing but inline
// styles, the logo, and the script of nonce when it is set; no framing.
func (p *Pages) CSP(nonce string) string {
	csp := "default-src 'none'; style-src 'unsafe-inline'"
	if p.imgSrc != "" {
		csp += "; img-src " + p.imgSrc
	}
	if nonce != "" {
		csp += "; script-src 'nonce-" + nonce + "'"
	}
	return csp + "; frame-ancestors 'none'; base-uri 'none'"
}

// imgSource is the CSP source of the logo: its origin, or 'self' for a
// path on the gateway's host.
func imgSource(logo string) string {
	switch {
	case logo == "":
		return ""
	case strings.HasPrefix(logo, "/") && !strings.HasPrefix(logo, "//"):
		return "'self'"
	}
	scheme, rest, ok := strings.Cut(logo, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host
}

// Names returns the template names, the layout first.
func Names() []string {
	names := append([]string{Layout}, pageNames...)
	sort.Strings(names[1:])
	return names
}
