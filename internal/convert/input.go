package convert

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// value is one option's value, as oauth2-proxy would read it, and where it
// came from (for the report).
type value struct {
	str    string
	on     bool
	list   []string
	source string
}

// options are the oauth2-proxy options set, by config name, after
// oauth2-proxy's precedence: flags over environment over config file.
type options map[string]*value

// readInput gathers the options of every source and returns them with the
// names of unknown options (reported later) and the alpha configuration's
// text, if one is named.
func (c *converter) readInput(in Input) error {
	flags, err := parseArgs(in.Args)
	if err != nil {
		return err
	}
	env := parseEnv(in.Env)
	path := firstSet("config", flags, env)
	if path != "" {
		data, err := in.readFile(path)
		if err != nil {
			return fmt.Errorf("read the oauth2-proxy config file: %w", err)
		}
		if err := c.parseConfigFile(path, data); err != nil {
			return err
		}
	}
	for _, src := range []map[string]rawValue{env, flags} {
		for _, name := range sortedKeys(src) {
			if err := c.set(name, src[name]); err != nil {
				return err
			}
		}
	}
	if v := c.opts["alpha_config"]; v != nil && v.str != "" {
		data, err := in.readFile(v.str)
		if err != nil {
			return fmt.Errorf("read the oauth2-proxy alpha config: %w", err)
		}
		if err := c.readAlpha(v.str, data); err != nil {
			return err
		}
	}
	return nil
}

// rawValue is a value as written: text (flags, environment) or decoded TOML.
type rawValue struct {
	text   []string // one per occurrence of a flag; one for a variable
	toml   any
	source string
}

func firstSet(name string, srcs ...map[string]rawValue) string {
	for _, s := range srcs {
		if v, ok := s[name]; ok && len(v.text) > 0 {
			return v.text[len(v.text)-1]
		}
	}
	return ""
}

// parseArgs reads oauth2-proxy command-line flags: --name=value,
// --name value, and --name alone for a boolean.
func parseArgs(args []string) (map[string]rawValue, error) {
	out := map[string]rawValue{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			return nil, fmt.Errorf("unexpected argument %q: oauth2-proxy options are flags (--name=value)", a)
		}
		body := strings.TrimLeft(a, "-")
		name, val, hasVal := strings.Cut(body, "=")
		opt := optionName(name)
		k, ok := known[opt]
		if !hasVal {
			switch {
			case ok && k == kBool:
				val = "true"
			case i+1 < len(args):
				i++
				val = args[i]
			default:
				return nil, fmt.Errorf("flag --%s: missing value", name)
			}
		}
		rv := out[opt]
		rv.text = append(rv.text, val)
		rv.source = "flag --" + name
		out[opt] = rv
	}
	return out, nil
}

// envPrefix is the prefix of oauth2-proxy's environment variables.
const envPrefix = "OAUTH2_PROXY_"

func parseEnv(env []string) map[string]rawValue {
	out := map[string]rawValue{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, envPrefix) || len(k) == len(envPrefix) {
			continue
		}
		out[strings.ToLower(strings.TrimPrefix(k, envPrefix))] = rawValue{text: []string{v}, source: "environment " + k}
	}
	return out
}

// parseConfigFile reads oauth2-proxy's legacy config file, which is TOML.
func (c *converter) parseConfigFile(path string, data []byte) error {
	var m map[string]any
	if _, err := toml.Decode(string(data), &m); err != nil {
		return fmt.Errorf("oauth2-proxy config file %s: %w", path, err)
	}
	for _, name := range sortedKeys(m) {
		if err := c.set(name, rawValue{toml: m[name], source: path}); err != nil {
			return err
		}
	}
	return nil
}

// set records an option, replacing a value of a lower-precedence source.
func (c *converter) set(name string, rv rawValue) error {
	k, ok := known[name]
	if !ok {
		c.unknown = append(c.unknown, unknownOption{name: name, source: rv.source})
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
		c.opts[name] = v
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
	c.opts[name] = v
	return nil
}

// splitList splits a comma-separated list, as oauth2-proxy does for
// repeatable flags and environment variables.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
