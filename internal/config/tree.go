package config

import (
	"encoding"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

// node is one key of the schema, derived by reflection from the toml tags of
// [Config], so that a key added to any section is known to the environment
// (envvars.go), the decoder (decode.go) and -explain (explain.go) at once.
type node struct {
	name     string       // the TOML key, such as "listen"
	typ      reflect.Type // the field's type
	field    []int        // the field's index in its parent struct
	array    bool         // an array of tables, such as [[upstream]]
	children []*node      // the keys of a table (nil for a leaf)
}

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	tomlUnmarshalerType = reflect.TypeFor[toml.Unmarshaler]()
)

// isLeaf reports whether a value of t is written as one TOML value (a
// string, number, array of values or inline table) rather than as a table.
func isLeaf(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(textUnmarshalerType) || pt.Implements(tomlUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct:
		return false
	case reflect.Slice:
		return isLeaf(t.Elem())
	}
	return true
}

// schemaRoot is the tree of the whole configuration.
var schemaRoot = sync.OnceValue(func() *node {
	return &node{typ: reflect.TypeFor[Config](), children: childNodes(reflect.TypeFor[Config]())}
})

// childNodes returns the keys of a table of type t. The fields of an
// embedded struct without a toml tag are keys of t itself, as the TOML
// decoder treats them (ProviderFAPI in Provider).
func childNodes(t reflect.Type) []*node {
	var out []*node
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for _, c := range childNodes(f.Type) {
				c.field = append(append([]int{}, f.Index...), c.field...)
				out = append(out, c)
			}
			continue
		}
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		n := &node{name: name, typ: f.Type, field: f.Index}
		if !isLeaf(f.Type) {
			et := f.Type
			if et.Kind() == reflect.Slice {
				n.array, et = true, et.Elem()
			}
			n.children = childNodes(et)
		}
		out = append(out, n)
	}
	return out
}

func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// leafPath is a leaf of the schema: its key path with "[]" after each array
// of tables ("upstream[].url") and its node.
type leafPath struct {
	path  []string // key names
	array []bool   // array[i]: path[i] is an array of tables
	node  *node
}

// leaves returns every leaf of the schema in declaration order.
func schemaLeaves() []leafPath {
	var out []leafPath
	var walk func(n *node, path []string, arr []bool)
	walk = func(n *node, path []string, arr []bool) {
		for _, c := range n.children {
			p := append(append([]string{}, path...), c.name)
			a := append(append([]bool{}, arr...), c.array)
			if c.children == nil {
				out = append(out, leafPath{path: p, array: a, node: c})
				continue
			}
			walk(c, p, a)
		}
	}
	walk(schemaRoot(), nil, nil)
	return out
}

// keyPath renders a key path with the indexes of arrays of tables:
// "upstream[1].url". idx[i] >= 0 is the index after path[i]; idx may be
// shorter than path.
func keyPath(path []string, idx []int) string {
	var b strings.Builder
	for i, p := range path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(quoteKey(p))
		if i < len(idx) && idx[i] >= 0 {
			b.WriteString("[" + strconv.Itoa(idx[i]) + "]")
		}
	}
	return b.String()
}

// quoteKey quotes a key that is not a bare TOML key (a required_claims
// entry such as "realm_access.roles").
func quoteKey(k string) string {
	if k != "" && strings.Trim(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == "" {
		return k
	}
	return `"` + strings.ReplaceAll(strings.ReplaceAll(k, `\`, `\\`), `"`, `\"`) + `"`
}

// underLeaf reports whether a proper prefix of the key path k is a leaf of
// the schema: k is then inside a value of the wrong type (a table where a
// string belongs), which the decoder reports, rather than an unknown key.
func underLeaf(k []string) bool {
	n := schemaRoot()
	for _, p := range k[:len(k)-1] {
		if n = n.child(p); n == nil {
			return false
		}
		if n.children == nil {
			return true
		}
	}
	return false
}
