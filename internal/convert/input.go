package convert

import (
	"fmt"
	"sort"
	"strings"
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
		if err := (alphaReader{c}).read(v.str, data); err != nil {
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
