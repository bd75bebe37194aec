package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// doc is the gatehouse.toml being written: tables in a fixed order, keys in
// the order they were set, each with the comment that says where it came
// from.
type doc struct {
	tables map[string]*table
	// arrays are the arrays of tables ([[ui.footer_links]]), written after
	// their parent table.
	arrays map[string][]*table
}

// tableOrder is the order of the tables in the file.
var tableOrder = []string{
	"server", "provider", "provider.extra_auth_params", "provider.endpoints",
	"session", "session.redis", "headers", "authorization", "bearer", "ui",
}

type table struct {
	comment string
	lines   []line
}

type line struct {
	key     string
	val     any // string, bool, []string, map[string][]string (inline table)
	comment string
	// suggestion lines are written commented out: a value to fill in.
	suggestion bool
}

// todo starts the comment of a value the operator must write (the file's
// header says to look for it).
const todo = "TODO"

func newDoc() *doc { return &doc{tables: map[string]*table{}, arrays: map[string][]*table{}} }

// appendTable adds a table to the array of tables name (its parent must be
// in tableOrder).
func (d *doc) appendTable(name string) *table {
	t := &table{}
	d.arrays[name] = append(d.arrays[name], t)
	return t
}

func (d *doc) table(name string) *table {
	t, ok := d.tables[name]
	if !ok {
		t = &table{}
		d.tables[name] = t
	}
	return t
}

// set writes key in the table (replacing an earlier value) and returns its
// full path for the report.
func (d *doc) set(tbl, key string, val any, comment string) string {
	d.table(tbl).set(key, val, comment, false)
	return tbl + "." + key
}

// suggest writes key commented out: the operator fills it in.
func (d *doc) suggest(tbl, key string, val any, comment string) {
	d.table(tbl).set(key, val, comment, true)
}

func (t *table) set(key string, val any, comment string, suggestion bool) {
	for i := range t.lines {
		if t.lines[i].key == key && t.lines[i].suggestion == suggestion {
			t.lines[i] = line{key, val, comment, suggestion}
			return
		}
	}
	t.lines = append(t.lines, line{key, val, comment, suggestion})
}

func (t *table) has(key string) bool {
	for _, l := range t.lines {
		if l.key == key && !l.suggestion {
			return true
		}
	}
	return false
}

// render writes the file: header, tables, then the routes.
func (d *doc) render(header string, routes []*route) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	for _, name := range tableOrder {
		if t, ok := d.tables[name]; ok && len(t.lines) > 0 {
			fmt.Fprintf(&b, "\n[%s]\n", name)
			if t.comment != "" {
				writeComment(&b, t.comment)
			}
			t.write(&b)
		}
		for _, array := range sortedKeys(d.arrays) {
			if array[:max(strings.LastIndex(array, "."), 0)] != name {
				continue
			}
			for _, t := range d.arrays[array] {
				fmt.Fprintf(&b, "\n[[%s]]\n", array)
				if t.comment != "" {
					writeComment(&b, t.comment)
				}
				t.write(&b)
			}
		}
	}
	for _, r := range routes {
		b.WriteString("\n")
		if r.comment != "" {
			writeComment(&b, r.comment)
		}
		b.WriteString("[[upstream]]\n")
		r.t.write(&b)
	}
	return b.Bytes()
}

func writeComment(b *bytes.Buffer, text string) {
	for _, l := range strings.Split(text, "\n") {
		b.WriteString(strings.TrimRight("# "+l, " ") + "\n")
	}
}

func (t *table) write(b *bytes.Buffer) {
	for _, l := range t.lines {
		if l.comment != "" {
			writeComment(b, l.comment)
		}
		if l.suggestion {
			b.WriteString("# ")
		}
		fmt.Fprintf(b, "%s = %s\n", tomlKey(l.key), tomlValue(l.val))
	}
}

// tomlKey quotes a key that is not a bare key.
func tomlKey(k string) string {
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return tomlString(k)
		}
	}
	return k
}

func tomlValue(v any) string {
	switch t := v.(type) {
	case string:
		return tomlString(t)
	case bool:
		return strconv.FormatBool(t)
	case []string:
		parts := make([]string, len(t))
		for i, s := range t {
			parts[i] = tomlString(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string][]string:
		var parts []string
		for _, k := range sortedKeys(t) {
			parts = append(parts, tomlKey(k)+" = "+tomlValue(t[k]))
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	panic(fmt.Sprintf("convert: no TOML for %T", v))
}

// tomlString writes a TOML basic string. JSON's escapes (\" \\ \n \uXXXX)
// are all valid in TOML.
func tomlString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
