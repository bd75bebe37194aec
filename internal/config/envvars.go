package config

import (
	"cmp"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// EnvPrefix starts the name of every environment variable that sets a key:
// GATEHOUSE_ followed by the key path in upper case, "_" between its parts,
// and the index (from 0) after an array of tables: server.listen is
// GATEHOUSE_SERVER_LISTEN, upstream[0].url is GATEHOUSE_UPSTREAM_0_URL.
const EnvPrefix = "GATEHOUSE_"

// legacyEnv are the secret variables that predate per-key variables. Each
// is used only when neither the file, nor its per-key variable, nor the
// *_file key sets the secret.
var legacyEnv = map[string]string{
	EnvClientSecret:  "provider.client_secret",
	EnvCookieSecret:  "session.cookie_secret",
	EnvRedisPassword: "session.redis.password",
}

// toolEnv are GATEHOUSE_ variables of the project's own test tools (make
// chaos, make soak, make ui-screenshots, the limits measurement), which may
// be in the environment of a gateway those tools start. They set no key.
var toolEnv = map[string]bool{
	"GATEHOUSE_CHAOS":          true,
	"GATEHOUSE_CHAOS_REPORT":   true,
	"GATEHOUSE_SOAK_DURATION":  true,
	"GATEHOUSE_SOAK_REPORT":    true,
	"GATEHOUSE_MEASURE_GETS":   true,
	"GATEHOUSE_UI_SCREENSHOTS": true, // make ui-screenshots
}

// serviceLinkEnv matches the variables Kubernetes sets in every pod for
// each Service of its namespace (enableServiceLinks, on by default): a
// Service "gatehouse" gives GATEHOUSE_SERVICE_HOST, GATEHOUSE_PORT,
// GATEHOUSE_PORT_4180_TCP_ADDR and so on. They set no key and are ignored.
var serviceLinkEnv = regexp.MustCompile(`^GATEHOUSE(_[A-Z0-9_]+)?_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT|PORT_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)$`)

// envName returns the variable that sets the key of the schema at path
// (names without indexes, such as ["upstream", "url"]) for the given
// indexes of its arrays of tables, in order.
func envName(path []string, array []bool, idx []int) string {
	var b strings.Builder
	b.WriteString(EnvPrefix)
	j := 0
	for i, p := range path {
		if i > 0 {
			b.WriteByte('_')
		}
		b.WriteString(strings.ToUpper(p))
		if array[i] {
			b.WriteByte('_')
			if j < len(idx) {
				b.WriteString(strconv.Itoa(idx[j]))
			} else {
				b.WriteByte('N')
			}
			j++
		}
	}
	return b.String()
}

// EnvNames returns, for every key of the schema, the variable that sets it,
// with N for the index of an array of tables: "server.listen" →
// "GATEHOUSE_SERVER_LISTEN", "upstream.url" → "GATEHOUSE_UPSTREAM_N_URL".
func EnvNames() map[string]string {
	out := map[string]string{}
	for _, l := range schemaLeaves() {
		out[strings.Join(l.path, ".")] = envName(l.path, l.array, nil)
	}
	return out
}

// envVar is a variable that sets a key.
type envVar struct {
	name, value string
	leaf        leafPath
	idx         []int // per element of leaf.path: the index after an array of tables, else -1
}

func (v envVar) key() string { return keyPath(v.leaf.path, v.idx) }

// matchEnv finds the key a variable name sets.
func matchEnv(name string) (envVar, bool) {
	rest, ok := strings.CutPrefix(name, EnvPrefix)
	if !ok {
		return envVar{}, false
	}
	var (
		path  []string
		array []bool
		idx   []int
	)
	var match func(n *node, rest string) *node
	match = func(n *node, rest string) *node {
		for _, c := range n.children {
			after, ok := strings.CutPrefix(rest, strings.ToUpper(c.name))
			if !ok {
				continue
			}
			if c.children == nil {
				if after == "" {
					path, array, idx = append(path, c.name), append(array, false), append(idx, -1)
					return c
				}
				continue
			}
			after, ok = strings.CutPrefix(after, "_")
			if !ok {
				continue
			}
			i := -1
			if c.array {
				digits, tail, ok := strings.Cut(after, "_")
				n, err := strconv.Atoi(digits)
				if !ok || err != nil || n < 0 || strconv.Itoa(n) != digits {
					continue
				}
				i, after = n, tail
			}
			path, array, idx = append(path, c.name), append(array, c.array), append(idx, i)
			if leaf := match(c, after); leaf != nil {
				return leaf
			}
			path, array, idx = path[:len(path)-1], array[:len(array)-1], idx[:len(idx)-1]
		}
		return nil
	}
	leaf := match(schemaRoot(), rest)
	if leaf == nil {
		return envVar{}, false
	}
	return envVar{name: name, leaf: leafPath{path: path, array: array, node: leaf}, idx: idx}, true
}

// Env is the process environment as the loader sees it.
type Env struct {
	// Getenv returns a variable's value. Nil is an empty environment. An
	// empty value is the same as an unset variable.
	Getenv func(string) string
	// Names lists the variables set (the names of os.Environ()), so that an
	// unknown GATEHOUSE_ variable, or one for an array element past the end,
	// is reported. Without it only the variables of the schema's keys are
	// looked up (indexes from 0 while any is set).
	Names []string
}

func (e Env) get(name string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(name)
}

// envVars returns the variables that set keys, sorted by key (so that
// upstream 0 comes before upstream 1), and an error for every GATEHOUSE_
// variable that sets none. raw is the file's decoded document, whose arrays
// of tables say how many indexes to look up.
func (e Env) envVars(raw map[string]any) ([]envVar, []error) {
	seen := map[string]bool{}
	var (
		vars []envVar
		errs []error
	)
	add := func(name string) bool {
		if seen[name] {
			return true
		}
		v := e.get(name)
		if v == "" {
			return false
		}
		seen[name] = true
		ev, ok := matchEnv(name)
		if !ok {
			return false
		}
		ev.value = v
		vars = append(vars, ev)
		return true
	}
	// Look up every key's variable, indexes from 0 while the file has the
	// element or a variable sets it.
	e.probe(schemaRoot(), raw, nil, nil, nil, add)
	for _, name := range e.Names {
		if !strings.HasPrefix(name, EnvPrefix) || seen[name] || e.get(name) == "" {
			continue
		}
		if add(name) {
			continue
		}
		if _, ok := legacyEnv[name]; ok || toolEnv[name] || serviceLinkEnv.MatchString(name) {
			continue
		}
		msg := "no configuration key has this variable"
		if s := suggestEnv(name); s != "" {
			msg += "; did you mean " + s + "?"
		}
		errs = append(errs, fmt.Errorf("%s: %s", name, msg))
	}
	slices.SortStableFunc(vars, func(a, b envVar) int { return cmp.Compare(sortKey(a), sortKey(b)) })
	return vars, errs
}

// probe looks up the variables of every key under the table n, whose
// decoded value in the file is raw (nil when the file lacks it): for each
// array of tables, the indexes the file has and the next ones while a
// variable sets a key of the element. path, array and idx locate n.
func (e Env) probe(n *node, raw any, path []string, array []bool, idx []int, add func(string) bool) bool {
	m, _ := raw.(map[string]any)
	found := false
	for _, c := range n.children {
		p := append(slices.Clone(path), c.name)
		a := append(slices.Clone(array), c.array)
		switch {
		case c.children == nil:
			found = add(envName(p, a, idx)) || found
		case !c.array:
			found = e.probe(c, m[c.name], p, a, idx, add) || found
		default:
			elems := tableList(m[c.name])
			for i := 0; ; i++ {
				var el any
				if i < len(elems) {
					el = elems[i]
				}
				set := e.probe(c, el, p, a, append(slices.Clone(idx), i), add)
				found = found || set
				if !set && i >= len(elems) {
					break
				}
			}
		}
	}
	return found
}

// tableList returns the elements of an array of tables as decoded, or nil.
func tableList(v any) []any {
	switch v := v.(type) {
	case []map[string]any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = e
		}
		return out
	case []any:
		return v
	}
	return nil
}

func sortKey(v envVar) string {
	var b strings.Builder
	for i, p := range v.leaf.path {
		b.WriteString(p)
		if v.idx[i] >= 0 {
			fmt.Fprintf(&b, "[%09d]", v.idx[i])
		}
		b.WriteByte('.')
	}
	return b.String()
}

// apply sets the variable's value in the decoded document raw.
func (v envVar) apply(raw map[string]any) error {
	val, err := envValue(v.value, v.leaf.node.typ)
	if err != nil {
		return err
	}
	cur := raw
	for i, p := range v.leaf.path[:len(v.leaf.path)-1] {
		child := cur[p]
		if v.idx[i] < 0 {
			m, ok := child.(map[string]any)
			if child == nil {
				m, ok = map[string]any{}, true
				cur[p] = m
			}
			if !ok {
				return fmt.Errorf("%s is not a table in the file", keyPath(v.leaf.path[:i+1], v.idx))
			}
			cur = m
			continue
		}
		list := tableList(child)
		if child != nil && list == nil {
			return fmt.Errorf("%s is not an array of tables in the file", keyPath(v.leaf.path[:i+1], nil))
		}
		n := v.idx[i]
		if n > len(list) {
			return fmt.Errorf("there is no %s: number the elements from 0, without gaps (the file has %d)",
				keyPath(v.leaf.path[:i+1], append(slices.Repeat([]int{-1}, i), len(list))), len(list))
		}
		if n == len(list) {
			list = append(list, map[string]any{})
		}
		m, ok := list[n].(map[string]any)
		if !ok {
			return fmt.Errorf("%s is not a table in the file", keyPath(v.leaf.path[:i+1], v.idx))
		}
		cur[p] = list
		cur = m
	}
	cur[v.leaf.path[len(v.leaf.path)-1]] = val
	return nil
}

// envValue turns a variable's text into a decoded TOML value for a key of
// type t. The text is read as a TOML value ("true", "32", "[\"a\", \"b\"]",
// "{ prompt = \"login\" }"), except for a string key, whose text is taken as
// it is (unless it is a quoted TOML string). A list may also be written
// comma-separated: "a, b". Text that is not TOML is a string; the decoder
// then says whether the key accepts it.
func envValue(text string, t reflect.Type) (any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	lit, isLit := tomlLiteral(text)
	pt := reflect.PointerTo(t)
	switch {
	case t.Kind() == reflect.String || pt.Implements(textUnmarshalerType) && !pt.Implements(tomlUnmarshalerType):
		if s, ok := lit.(string); isLit && ok {
			return s, nil
		}
		if _, ok := lit.([]any); isLit && ok && pt.Implements(tomlUnmarshalerType) {
			return lit, nil // a string type that also takes an array, such as Secrets
		}
		if _, ok := lit.(bool); isLit && ok && pt.Implements(tomlUnmarshalerType) {
			return lit, nil // a string type that also takes a boolean, such as provider.dpop
		}
		return text, nil
	case t.Kind() == reflect.Slice && isLeaf(t):
		if _, ok := lit.([]any); isLit && ok {
			return lit, nil
		}
		if s, ok := lit.(string); isLit && ok && pt.Implements(tomlUnmarshalerType) {
			return s, nil
		}
		var out []any
		for _, part := range strings.Split(text, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if v, ok := tomlLiteral(part); ok {
				if _, isStr := v.(string); isStr || reflect.PointerTo(t.Elem()).Implements(textUnmarshalerType) || t.Elem().Kind() != reflect.String {
					out = append(out, v)
					continue
				}
			}
			out = append(out, part)
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	}
	if isLit {
		return lit, nil
	}
	return text, nil
}

// tomlLiteral reads text as one TOML value.
func tomlLiteral(text string) (any, bool) {
	var m map[string]any
	if _, err := toml.Decode("v = "+text, &m); err != nil || len(m) != 1 {
		return nil, false
	}
	v, ok := m["v"]
	return v, ok
}

var envIndex = regexp.MustCompile(`_[0-9]+(_|$)`)

// suggestEnv returns the variable that name most likely misspells, or
// what an oauth2-proxy option is called here, or "".
func suggestEnv(name string) string {
	rest := strings.TrimPrefix(name, EnvPrefix)
	if a, ok := proxyAliases[strings.ToLower(rest)]; ok && a.key != "" {
		return envForKey(a.key)
	}
	// Compare with the indexes written N, then put them back.
	var digits []string
	norm := envIndex.ReplaceAllStringFunc(name, func(m string) string {
		digits = append(digits, strings.Trim(m, "_"))
		return strings.Replace(m, strings.Trim(m, "_"), "N", 1)
	})
	best, bestDist := "", 4
	cands := slices.Sorted(func(yield func(string) bool) {
		for _, n := range EnvNames() {
			if !yield(n) {
				return
			}
		}
		for n := range legacyEnv {
			if !yield(n) {
				return
			}
		}
	})
	for _, c := range cands {
		if d := editDistance(c, norm); d < bestDist {
			best, bestDist = c, d
		}
	}
	for _, d := range digits {
		best = strings.Replace(best, "_N_", "_"+d+"_", 1)
	}
	return strings.ReplaceAll(best, "_N_", "_0_")
}

// envForKey is the variable of a key path without indexes
// ("upstream.url"), with index 0.
func envForKey(key string) string {
	n, ok := EnvNames()[key]
	if !ok {
		return ""
	}
	return strings.ReplaceAll(n, "_N_", "_0_")
}
