// Package convert turns an oauth2-proxy configuration (its legacy config
// file, its alpha YAML configuration, OAUTH2_PROXY_* environment variables
// and command-line flags) into a commented gatehouse.toml and a report that
// names every option: carried over, built in, changed, without equivalent,
// or blocking (security-relevant and not carried over).
//
// The package is pure: files are read through [Input.ReadFile], and nothing
// is validated here (run the result through the configuration loader, as
// `gatehouse check-config` does). Secrets are never copied into the output:
// the report says which environment variable or *_file key takes each one.
//
// docs/migrating-from-oauth2-proxy.md is the mapping this package follows.
package convert

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// Input is what oauth2-proxy would read.
type Input struct {
	// Args are oauth2-proxy's command-line flags (--provider=oidc ...),
	// including --config FILE and --alpha-config FILE.
	Args []string
	// Env is the environment, as os.Environ returns it; only OAUTH2_PROXY_*
	// variables are read (OAUTH2_PROXY_CONFIG and _ALPHA_CONFIG too).
	Env []string
	// ReadFile reads the files the options name: the config files and
	// authenticated_emails_file. Nil: no file can be read.
	ReadFile func(name string) ([]byte, error)
	// TrustedProxies are the addresses (CIDRs) of the proxies in front,
	// which oauth2-proxy's reverse_proxy trusted without naming them.
	TrustedProxies []string
}

func (in Input) readFile(name string) ([]byte, error) {
	if in.ReadFile == nil {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	return in.ReadFile(name)
}

// Status says what became of an oauth2-proxy option.
type Status int

const (
	// Mapped: carried over to the Gatehouse keys named.
	Mapped Status = iota
	// Builtin: Gatehouse always behaves this way; nothing to write.
	Builtin
	// Changed: carried over, but Gatehouse behaves differently (the note
	// says how), or the operator must complete it.
	Changed
	// NoEquivalent: not carried over; the note says what to do instead.
	// Not security-relevant.
	NoEquivalent
	// Blocking: security-relevant and not carried over faithfully; the
	// operator must decide. Any blocking finding makes [Result.Blocking]
	// true (`gatehouse convert` exits with status 3).
	Blocking
)

var statusNames = [...]string{"mapped", "built in", "changed", "no equivalent", "BLOCKING"}

func (s Status) String() string { return statusNames[s] }

// Finding is the report's line for one oauth2-proxy option.
type Finding struct {
	Option string   // oauth2-proxy's config name, or the alpha config path
	Source string   // where it was set: file, environment variable, flag
	Status Status   //
	Keys   []string // the Gatehouse keys written from it
	Note   string   // what differs, or what to do
}

// Result is the converted configuration and the report.
type Result struct {
	TOML     []byte
	Findings []Finding
}

// Blocking reports whether a security-relevant option could not be carried
// over.
func (r *Result) Blocking() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Status == Blocking })
}

// Report is the human-readable report: every option, grouped by status,
// blocking ones last.
func (r *Result) Report() string {
	var b strings.Builder
	for _, st := range []Status{Mapped, Builtin, Changed, NoEquivalent, Blocking} {
		var lines []string
		for _, f := range r.Findings {
			if f.Status != st {
				continue
			}
			l := "  " + f.Option
			if len(f.Keys) > 0 {
				l += " -> " + strings.Join(f.Keys, ", ")
			}
			if f.Source != "" {
				l += "  (" + f.Source + ")"
			}
			if f.Note != "" {
				l += "\n      " + f.Note
			}
			lines = append(lines, l)
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s:\n%s\n", st, strings.Join(lines, "\n"))
	}
	if r.Blocking() {
		b.WriteString("\nBLOCKING: security-relevant options above were not carried over; decide each one before\nrunning Gatehouse with this configuration.\n")
	}
	return b.String()
}

// ErrNoInput is returned when no oauth2-proxy option is set at all.
var ErrNoInput = errors.New("no oauth2-proxy option found: pass --config FILE, --alpha-config FILE, flags, or OAUTH2_PROXY_* variables")

// Convert reads the oauth2-proxy configuration and converts it. An error
// means the input could not be read (a missing file, a syntax error); a
// configuration that cannot be carried over is reported in the Result.
func Convert(in Input) (*Result, error) {
	c := &converter{opts: options{}, in: in, doc: newDoc()}
	if err := c.readInput(in); err != nil {
		return nil, err
	}
	if len(c.opts) == 0 && len(c.unknown) == 0 && c.alpha == nil {
		return nil, ErrNoInput
	}
	c.convert()
	return &Result{TOML: c.doc.render(c.header(), c.upstreams), Findings: c.findings}, nil
}

// converter holds one conversion's state.
type converter struct {
	in       Input
	opts     options
	unknown  []unknownOption
	alpha    *alphaConfig
	doc      *doc
	findings []Finding
	done     map[string]bool // options already reported
	// upstreams are the routes, from upstreams or the alpha config.
	upstreams []*route
	// providerType is oauth2-proxy's provider (default "google").
	providerType string
}

type unknownOption struct{ name, source string }

// get returns the option if set.
func (c *converter) get(name string) (*value, bool) {
	v, ok := c.opts[name]
	return v, ok
}

// str returns the option's text, or "".
func (c *converter) str(name string) string {
	if v, ok := c.opts[name]; ok {
		return v.str
	}
	return ""
}

// list returns the option's list, or nil.
func (c *converter) list(name string) []string {
	if v, ok := c.opts[name]; ok {
		return v.list
	}
	return nil
}

// on returns the option's boolean, or def when it is not set.
func (c *converter) on(name string, def bool) bool {
	if v, ok := c.opts[name]; ok {
		return v.on
	}
	return def
}

// report records the finding for an option that is set (and does nothing
// for one that is not), once.
func (c *converter) report(name string, st Status, note string, keys ...string) {
	v, ok := c.opts[name]
	if !ok {
		return
	}
	c.reportAt(name, v.source, st, note, keys...)
}

// reportAt records a finding for an option, set or implied.
func (c *converter) reportAt(name, source string, st Status, note string, keys ...string) {
	if c.done == nil {
		c.done = map[string]bool{}
	}
	if c.done[name] {
		// A second finding for the same option (e.g. two consequences).
		for i := range c.findings {
			f := &c.findings[i]
			if f.Option == name {
				if st > f.Status {
					f.Status = st
				}
				for _, k := range keys {
					if !slices.Contains(f.Keys, k) {
						f.Keys = append(f.Keys, k)
					}
				}
				switch {
				case note == "":
				case f.Note == "":
					f.Note = note
				default:
					f.Note += "; " + note
				}
				return
			}
		}
	}
	c.done[name] = true
	c.findings = append(c.findings, Finding{Option: name, Source: source, Status: st, Keys: keys, Note: note})
}

// convert runs every mapping, then reports the options no mapping took.
func (c *converter) convert() {
	c.providerType = c.str("provider")
	if c.providerType == "" {
		c.providerType = "google" // oauth2-proxy's default
	}
	c.mapServer()
	c.mapProvider()
	c.mapSession()
	c.mapUpstreams()
	c.mapAuthorization()
	c.mapHeaders()
	c.mapRest()
	if c.alpha != nil {
		c.mapAlphaHeaders()
	}
	for _, name := range sortedKeys(c.opts) {
		if !c.done[name] {
			c.report(name, NoEquivalent, "no equivalent in Gatehouse")
		}
	}
	for _, u := range c.unknown {
		c.reportAt(u.name, u.source, Blocking, "not an oauth2-proxy option the converter knows: a typo, or a newer option; "+
			"check what it did before running Gatehouse")
	}
}

func (c *converter) header() string {
	var srcs []string
	seen := map[string]bool{}
	for _, name := range sortedKeys(c.opts) {
		s := c.opts[name].source
		if strings.HasPrefix(s, "environment ") {
			s = "environment"
		}
		if strings.HasPrefix(s, "flag ") {
			s = "flags"
		}
		if strings.HasPrefix(s, "alpha-config ") {
			s = "alpha config " + c.str("alpha_config")
		}
		if !seen[s] {
			seen[s] = true
			srcs = append(srcs, s)
		}
	}
	sort := slices.Clone(srcs)
	slices.Sort(sort)
	return "# Converted from oauth2-proxy by `gatehouse convert oauth2-proxy` (" + strings.Join(sort, ", ") + ").\n" +
		"# Every key is documented in config.example.toml. Check it with\n" +
		"#   gatehouse check-config -config gatehouse.toml\n" +
		"# and read the report the converter printed: options marked BLOCKING or TODO need a decision.\n" +
		"# Secrets are not in this file: set GATEHOUSE_CLIENT_SECRET and GATEHOUSE_COOKIE_SECRET\n" +
		"# (a new key: gatehouse genkey), or the *_file keys. Any other key can be set from the\n" +
		"# environment too, over this file: GATEHOUSE_SERVER_LISTEN, GATEHOUSE_UPSTREAM_0_URL, ...\n"
}
