package config

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Explain renders the effective configuration as TOML: every key, defaults
// included, each followed by where its value came from (see [Origins]):
// "# default", "# file gatehouse.toml line 3", "# env GATEHOUSE_SERVER_LISTEN",
// "# secret file /run/secrets/cookie". Secrets print as "[redacted]" (as
// in [Config.Redacted]; so does any key whose name holds "secret" or
// "password", and the password of any URL).
func (c *Config) Explain(origins Origins) string {
	r := c.Redacted()
	var b strings.Builder
	b.WriteString("# The effective configuration: every key, with where its value came from.\n")
	b.WriteString("# Secrets are shown as \"[redacted]\".\n")
	explainTable(&b, "", "", reflect.ValueOf(r), schemaRoot(), origins)
	return b.String()
}

// explainTable writes the keys of the table rv (at key path key), then its
// sub-tables.
func explainTable(b *strings.Builder, key, header string, rv reflect.Value, n *node, origins Origins) {
	type line struct{ text, origin string }
	var lines []line
	width := 0
	for _, c := range n.children {
		if c.children != nil {
			continue
		}
		k := childKey(key, c.name)
		fv := rv.FieldByIndex(c.field)
		var text string
		if fv.Kind() == reflect.Pointer && fv.IsNil() {
			text = "# " + quoteKey(c.name) + " is not set"
		} else {
			text = quoteKey(c.name) + " = " + explainValue(k, fv)
		}
		lines = append(lines, line{text, origins.Of(k).String()})
		width = max(width, min(len(text), 60))
	}
	if header != "" {
		b.WriteString("\n" + header + "\n")
	}
	for _, l := range lines {
		fmt.Fprintf(b, "%-*s  # %s\n", width, l.text, l.origin)
	}
	for _, c := range n.children {
		if c.children == nil {
			continue
		}
		k := childKey(key, c.name)
		fv := rv.FieldByIndex(c.field)
		if !c.array {
			explainTable(b, k, "["+k+"]", fv, c, origins)
			continue
		}
		name := stripIndexes(k)
		if fv.Len() == 0 {
			fmt.Fprintf(b, "\n# [[%s]]: none\n", name)
		}
		for i := range fv.Len() {
			ek := k + "[" + strconv.Itoa(i) + "]"
			explainTable(b, ek, "[["+name+"]]  # "+ek, fv.Index(i), c, origins)
		}
	}
}

// stripIndexes removes the indexes from a key path: "a[0].b" → "a.b".
func stripIndexes(k string) string {
	var b strings.Builder
	skip := false
	for _, r := range k {
		switch {
		case r == '[':
			skip = true
		case r == ']':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// explainValue renders one value as TOML, hiding secrets.
func explainValue(key string, v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		text, err := m.MarshalText()
		if err != nil {
			return strconv.Quote("?")
		}
		return strconv.Quote(string(text))
	}
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		if s != "" && isSecretKey(key) {
			s = redacted
		} else if strings.Contains(s, "@") && strings.Contains(s, "://") {
			s = redactURL(s)
		}
		return strconv.Quote(s)
	case reflect.Slice, reflect.Array:
		parts := make([]string, v.Len())
		for i := range v.Len() {
			parts[i] = explainValue(key, v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		parts := make([]string, len(keys))
		for i, mk := range keys {
			parts[i] = quoteKey(mk.String()) + " = " + explainValue(childKey(key, mk.String()), v.MapIndex(mk))
		}
		if len(parts) == 0 {
			return "{}"
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	case reflect.Interface:
		if v.IsNil() {
			return `""`
		}
		return explainValue(key, v.Elem())
	}
	return fmt.Sprint(v.Interface())
}
