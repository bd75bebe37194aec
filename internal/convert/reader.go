package convert

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// reader is the input side of a conversion: the oauth2-proxy options as
// read from every source (set, with oauth2-proxy's precedence), the ones
// nobody knows, the alpha configuration, and the findings reported on them,
// one per option. The mappers read options through it (str, list, on, get)
// and report what became of each (report, reportAt).
type reader struct {
	in       Input
	opts     options
	unknown  []unknownOption
	alpha    *alphaConfig
	findings []Finding
	done     map[string]bool // options already reported
}

type unknownOption struct{ name, source string }

// get returns the option if set.
func (r *reader) get(name string) (*value, bool) {
	v, ok := r.opts[name]
	return v, ok
}

// str returns the option's text, or "".
func (r *reader) str(name string) string {
	if v, ok := r.opts[name]; ok {
		return v.str
	}
	return ""
}

// list returns the option's list, or nil.
func (r *reader) list(name string) []string {
	if v, ok := r.opts[name]; ok {
		return v.list
	}
	return nil
}

// on returns the option's boolean, or def when it is not set.
func (r *reader) on(name string, def bool) bool {
	if v, ok := r.opts[name]; ok {
		return v.on
	}
	return def
}

// report records the finding for an option that is set (and does nothing
// for one that is not), once.
func (r *reader) report(name string, st Status, note string, keys ...string) {
	v, ok := r.opts[name]
	if !ok {
		return
	}
	r.reportAt(name, v.source, st, note, keys...)
}

// reportAt records a finding for an option, set or implied.
func (r *reader) reportAt(name, source string, st Status, note string, keys ...string) {
	if r.done == nil {
		r.done = map[string]bool{}
	}
	if r.done[name] {
		// A second finding for the same option (e.g. two consequences).
		for i := range r.findings {
			f := &r.findings[i]
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
	r.done[name] = true
	r.findings = append(r.findings, Finding{Option: name, Source: source, Status: st, Keys: keys, Note: note})
}

// sourceOr returns the option's source, or def when it is not set.
func (r *reader) sourceOr(name, def string) string {
	if v, ok := r.opts[name]; ok {
		return v.source
	}
	return def
}

// parseConfigFile reads oauth2-proxy's legacy config file, which is TOML.
func (r *reader) parseConfigFile(path string, data []byte) error {
	var m map[string]any
	if _, err := toml.Decode(string(data), &m); err != nil {
		return fmt.Errorf("oauth2-proxy config file %s: %w", path, err)
	}
	for _, name := range sortedKeys(m) {
		if err := r.set(name, rawValue{toml: m[name], source: path}); err != nil {
			return err
		}
	}
	return nil
}

// set records an option, replacing a value of a lower-precedence source.
func (r *reader) set(name string, rv rawValue) error {
	k, ok := known[name]
	if !ok {
		r.unknown = append(r.unknown, unknownOption{name: name, source: rv.source})
		return nil
	}
	v := &value{source: rv.source}
	if rv.toml != nil {
		switch t := rv.toml.(type) {
		case string:
			v.str, v.list = t, splitList(t)
			v.on, _ = strconv.ParseBool(t)
		case bool:
			v.on, v.str = t, strconv.FormatBool(t)
		case int64:
			v.str = strconv.FormatInt(t, 10)
			v.list = []string{v.str}
		case float64:
			v.str = strconv.FormatFloat(t, 'f', -1, 64)
			v.list = []string{v.str}
		case []any:
			for _, e := range t {
				v.list = append(v.list, fmt.Sprint(e))
			}
			v.str = strings.Join(v.list, ",")
		default:
			return fmt.Errorf("%s: option %s: unexpected value %v", rv.source, name, t)
		}
		if k == kList && len(v.list) == 0 && v.str != "" {
			v.list = []string{v.str}
		}
		r.opts[name] = v
		return nil
	}
	last := rv.text[len(rv.text)-1]
	v.str = last
	switch k {
	case kBool:
		b, err := strconv.ParseBool(last)
		if err != nil {
			return fmt.Errorf("%s: %q is not true or false", rv.source, last)
		}
		v.on = b
	case kList:
		for _, t := range rv.text {
			v.list = append(v.list, splitList(t)...)
		}
	}
	r.opts[name] = v
	return nil
}

// header is the TOML file's comment: where the options came from, and what to
// check before using it.
func (r *reader) header() string {
	var srcs []string
	seen := map[string]bool{}
	for _, name := range sortedKeys(r.opts) {
		s := r.opts[name].source
		if strings.HasPrefix(s, "environment ") {
			s = "environment"
		}
		if strings.HasPrefix(s, "flag ") {
			s = "flags"
		}
		if strings.HasPrefix(s, "alpha-config ") {
			s = "alpha config " + r.str("alpha_config")
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
