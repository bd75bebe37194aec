package config

import (
	"strconv"
	"strings"
)

// OriginKind says where a configuration value came from.
type OriginKind int

// The sources of a value, from weakest to strongest.
const (
	OriginDefault    OriginKind = iota // the built-in default
	OriginFile                         // the TOML file
	OriginEnv                          // an environment variable
	OriginSecretFile                   // a file named by a *_file key
)

// Origin is where one configuration value came from.
type Origin struct {
	Kind OriginKind
	// Name is the variable's name (OriginEnv) or the path of the file
	// (OriginFile, OriginSecretFile).
	Name string
	// Line is the key's line in the file (OriginFile), if known.
	Line int
}

func (o Origin) String() string {
	switch o.Kind {
	case OriginFile:
		s := "file"
		if o.Name != "" {
			s += " " + o.Name
		}
		if o.Line > 0 {
			s += " line " + strconv.Itoa(o.Line)
		}
		return s
	case OriginEnv:
		return "env " + o.Name
	case OriginSecretFile:
		return "secret file " + o.Name
	}
	return "default"
}

// Origins maps key paths, with the indexes of arrays of tables
// ("upstream[0].url"), to where their values came from. A key that is not
// in it has its default.
type Origins map[string]Origin

// Of returns the origin of key: its own, else that of the nearest enclosing
// key that has one (a table set whole by a variable), else the default.
func (o Origins) Of(key string) Origin {
	for k := key; k != ""; {
		if v, ok := o[k]; ok {
			return v
		}
		i := max(strings.LastIndexByte(k, '.'), strings.LastIndexByte(k, '['))
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return Origin{}
}

// recordFile marks every value of a decoded TOML document as coming from
// the file: the leaves of the schema n, and whatever they hold. A table
// itself gets no origin, so that a key left out of it keeps "default".
func (o Origins) recordFile(prefix string, m map[string]any, n *node, file string, lines map[string]int) {
	for k, v := range m {
		key := childKey(prefix, k)
		var c *node
		if n != nil {
			c = n.child(k)
		}
		if c == nil || c.children == nil {
			o[key] = Origin{Kind: OriginFile, Name: file, Line: lines[key]}
		}
		if c != nil && c.children == nil {
			c = nil // the inside of a leaf: a free-form table
		}
		switch v := v.(type) {
		case map[string]any:
			o.recordFile(key, v, c, file, lines)
		case []map[string]any:
			for i, e := range v {
				o.recordFile(key+"["+strconv.Itoa(i)+"]", e, c, file, lines)
			}
		case []any:
			for i, e := range v {
				if m, ok := e.(map[string]any); ok {
					o.recordFile(key+"["+strconv.Itoa(i)+"]", m, c, file, lines)
				}
			}
		}
	}
}

// keyLines finds the line of each key of a TOML document, by key path with
// the indexes of arrays of tables ("upstream[1].url"), for messages. It
// reads table headers and "key = value" lines; a key it cannot place (in an
// inline table, or after a multi-line string) has no line.
func keyLines(doc string) map[string]int {
	lines := map[string]int{}
	counts := map[string]int{} // arrays of tables seen: name → elements
	prefix := ""
	inMulti := ""
	// resolve turns a dotted table name into a path with the indexes of
	// the arrays of tables it is under.
	resolve := func(name string) string {
		parts := strings.Split(name, ".")
		out := ""
		for i, p := range parts {
			out = childKey(out, strings.Trim(p, `"' `))
			if n, ok := counts[strings.Join(parts[:i+1], ".")]; ok && i < len(parts)-1 {
				out += "[" + strconv.Itoa(n-1) + "]"
			}
		}
		return out
	}
	for i, line := range strings.Split(doc, "\n") {
		t := strings.TrimSpace(line)
		if inMulti != "" {
			if strings.Count(t, inMulti)%2 == 1 {
				inMulti = ""
			}
			continue
		}
		switch {
		case t == "" || t[0] == '#':
		case strings.HasPrefix(t, "[["):
			name := strings.TrimSpace(strings.Trim(strings.SplitN(t, "]]", 2)[0], "[ "))
			counts[name]++
			for k := range counts { // a new element starts its sub-arrays afresh
				if strings.HasPrefix(k, name+".") {
					delete(counts, k)
				}
			}
			prefix = resolve(name) + "[" + strconv.Itoa(counts[name]-1) + "]"
			lines[prefix] = i + 1
		case t[0] == '[':
			prefix = resolve(strings.TrimSpace(strings.Trim(strings.SplitN(t, "]", 2)[0], "[ ")))
			lines[prefix] = i + 1
		default:
			k, v, ok := strings.Cut(t, "=")
			if !ok {
				continue
			}
			key := prefix
			for _, p := range strings.Split(strings.TrimSpace(k), ".") {
				key = childKey(key, strings.Trim(p, `"' `))
			}
			lines[key] = i + 1
			for _, q := range []string{`"""`, `'''`} {
				if strings.Count(v, q)%2 == 1 {
					inMulti = q
				}
			}
		}
	}
	return lines
}
