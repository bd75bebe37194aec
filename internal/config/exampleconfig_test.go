package config

import (
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
)

const examplePath = "../../config.example.toml"

func TestExampleConfigLoadsAndValidates(t *testing.T) {
	noEnv := func(string) string { return "" }
	c, err := Load(examplePath, noEnv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate:\n%v", err)
	}
	if c.Session.CookieSecret != exampleCookieSecret {
		t.Errorf("example cookie_secret is not exampleCookieSecret; update the constant so Validate refuses it outside loopback")
	}
}

// tomlKeyPaths walks t, independently of the package's own schema, and
// returns every TOML key path ("session.redis.url", "upstream.auth") and the
// paths whose children are free-form (maps).
func tomlKeyPaths(prefix string, t reflect.Type, keys, freeform map[string]bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("toml"), ",")[0]
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			tomlKeyPaths(prefix, f.Type, keys, freeform) // embedded: its keys are the parent's
			continue
		}
		if name == "" {
			panic("field without toml tag: " + t.String() + "." + f.Name)
		}
		path := strings.TrimPrefix(prefix+"."+name, ".")
		keys[path] = true
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		switch {
		case ft == reflect.TypeFor[Duration]():
		case ft.Kind() == reflect.Struct:
			tomlKeyPaths(path, ft, keys, freeform)
		case ft.Kind() == reflect.Map:
			freeform[path] = true
		}
	}
}

var (
	// exampleHeader matches a table header, possibly commented out.
	exampleHeader = regexp.MustCompile(`^#?\s*\[\[?([a-z_.]+)\]\]?\s*$`)
	// exampleAssign matches an assignment, possibly commented out.
	exampleAssign = regexp.MustCompile(`^#?\s*([a-z0-9_]+)\s*=`)
)

// exampleAssignment is one table header or "key = value" line of the example, active or
// commented out.
type exampleAssignment struct {
	line  int
	table string // as in its header, e.g. "[[upstream]]"
	path  string // e.g. "upstream.url"
	text  string // the assignment, uncommented; "" for a header
}

func exampleAssignments(t *testing.T) []exampleAssignment {
	t.Helper()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out                []exampleAssignment
		table, tableHeader string
	)
	for i, line := range strings.Split(string(data), "\n") {
		if m := exampleHeader.FindStringSubmatch(line); m != nil {
			table = m[1]
			tableHeader = strings.TrimSpace(strings.TrimPrefix(line, "#"))
			out = append(out, exampleAssignment{line: i + 1, table: tableHeader, path: table})
			continue
		}
		m := exampleAssign.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		path := m[1]
		if table != "" {
			path = table + "." + m[1]
		}
		out = append(out, exampleAssignment{
			line:  i + 1,
			table: tableHeader,
			path:  path,
			text:  strings.TrimSpace(strings.TrimPrefix(line, "#")),
		})
	}
	return out
}

func TestExampleConfigDocumentsEveryKey(t *testing.T) {
	keys, freeform := map[string]bool{}, map[string]bool{}
	tomlKeyPaths("", reflect.TypeFor[Config](), keys, freeform)

	// The decoder's strictness rests on the package's own schema: it must
	// agree with this independent walk.
	if diff := cmp.Diff(keys, configSchema().keys); diff != "" {
		t.Errorf("configSchema().keys differs from the struct (-walk +schema):\n%s", diff)
	}
	if diff := cmp.Diff(freeform, configSchema().maps); diff != "" {
		t.Errorf("configSchema().maps differs from the struct (-walk +schema):\n%s", diff)
	}

	assigned := map[string]bool{}
	for _, a := range exampleAssignments(t) {
		assigned[a.path] = true
		parent := a.path[:max(0, strings.LastIndexByte(a.path, '.'))]
		if !keys[a.path] && !freeform[parent] {
			t.Errorf("config.example.toml:%d: key %q is not in the Config struct", a.line, a.path)
		}
		if a.text == "" {
			continue
		}
		// Every line, commented or not, must decode strictly on its own.
		doc := a.table + "\n" + a.text + "\n"
		var c Config
		md, err := toml.Decode(doc, &c)
		if err != nil {
			t.Errorf("config.example.toml:%d: %q does not decode: %v", a.line, a.text, err)
		} else if u := md.Undecoded(); len(u) > 0 {
			t.Errorf("config.example.toml:%d: %q leaves keys undecoded: %v", a.line, a.text, u)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !assigned[k] {
			t.Errorf("config.example.toml does not document key %q", k)
		}
	}
}
