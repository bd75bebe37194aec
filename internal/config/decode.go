package config

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// FieldError is a value that does not fit its key: a type error, a bad
// duration, a bad environment variable. Its message is a plain sentence.
type FieldError struct {
	Key    string // the key path, such as "upstream[1].url"
	Origin Origin // where the value came from
	Msg    string
}

func (e *FieldError) Error() string {
	switch {
	case e.Origin.Kind == OriginEnv:
		return fmt.Sprintf("%s (%s): %s", e.Key, e.Origin.Name, e.Msg)
	case e.Origin.Kind == OriginFile && e.Origin.Line > 0:
		return fmt.Sprintf("%s (line %d): %s", e.Key, e.Origin.Line, e.Msg)
	}
	return e.Key + ": " + e.Msg
}

// decoder assigns the generic values of a decoded TOML document (string,
// int64, float64, bool, []any, map[string]any, []map[string]any, dates) to
// the fields of a Config by reflection. Unlike the TOML library's own
// decoder it carries on after a bad value: every one is reported, in plain
// words, and the field keeps its default.
type decoder struct {
	origins Origins
	lines   map[string]int // the file's line of each key, tables included
	errs    []error
}

var durationType = reflect.TypeFor[Duration]()

func (d *decoder) fail(key, format string, args ...any) {
	o := d.origins.Of(key)
	if o.Kind == OriginDefault && d.lines[key] > 0 { // a table of the file
		o = Origin{Kind: OriginFile, Line: d.lines[key]}
	}
	d.errs = append(d.errs, &FieldError{Key: key, Origin: o, Msg: fmt.Sprintf(format, args...)})
}

// childKey is the path of key name under parent.
func childKey(parent, name string) string {
	if parent == "" {
		return quoteKey(name)
	}
	return parent + "." + quoteKey(name)
}

// decode sets rv (addressable) from data and reports whether it could.
func (d *decoder) decode(key string, rv reflect.Value, data any) bool {
	t := rv.Type()
	if t.Kind() == reflect.Pointer {
		nv := reflect.New(t.Elem())
		if !d.decode(key, nv.Elem(), data) {
			return false
		}
		rv.Set(nv)
		return true
	}
	if u, ok := rv.Addr().Interface().(toml.Unmarshaler); ok {
		if err := u.UnmarshalTOML(data); err != nil {
			d.fail(key, "%v", err)
			return false
		}
		return true
	}
	if t == durationType {
		return d.duration(key, rv, data)
	}
	if u, ok := rv.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
		s, isStr := data.(string)
		if !isStr {
			d.fail(key, "expected a string, got %s", describe(data))
			return false
		}
		if err := u.UnmarshalText([]byte(s)); err != nil {
			d.fail(key, "%v", err)
			return false
		}
		return true
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := data.(string)
		if !ok {
			d.fail(key, "expected a string, got %s%s", describe(data), quoteHint(data))
			return false
		}
		rv.SetString(s)
	case reflect.Bool:
		b, ok := data.(bool)
		if !ok {
			d.fail(key, "expected true or false, got %s%s", describe(data), unquoteHint(key, data))
			return false
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return d.integer(key, rv, data)
	case reflect.Float32, reflect.Float64:
		switch v := data.(type) {
		case int64:
			rv.SetFloat(float64(v))
		case float64:
			rv.SetFloat(v)
		default:
			d.fail(key, "expected a number, got %s%s", describe(data), unquoteHint(key, data))
			return false
		}
	case reflect.Struct:
		m, ok := data.(map[string]any)
		if !ok {
			d.fail(key, "expected a table, got %s", describe(data))
			return false
		}
		d.table(key, rv, m)
	case reflect.Slice:
		return d.slice(key, rv, data)
	case reflect.Map:
		m, ok := data.(map[string]any)
		if !ok {
			d.fail(key, "expected a table such as { name = \"value\" }, got %s", describe(data))
			return false
		}
		out := reflect.MakeMapWithSize(t, len(m))
		good := true
		for _, k := range slices.Sorted(maps.Keys(m)) {
			ev := reflect.New(t.Elem()).Elem()
			if d.decode(childKey(key, k), ev, m[k]) {
				out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
			} else {
				good = false
			}
		}
		rv.Set(out)
		return good
	case reflect.Interface:
		rv.Set(reflect.ValueOf(data))
	default:
		d.fail(key, "cannot be set (a field of kind %s)", t.Kind())
		return false
	}
	return true
}

// table sets the fields of the struct rv that m names. Keys the schema does
// not know are reported by unknownKeys and unknownEnv, not here.
func (d *decoder) table(key string, rv reflect.Value, m map[string]any) {
	for _, c := range childNodes(rv.Type()) {
		if v, ok := m[c.name]; ok {
			d.decode(childKey(key, c.name), rv.FieldByIndex(c.field), v)
		}
	}
}

func (d *decoder) slice(key string, rv reflect.Value, data any) bool {
	t := rv.Type()
	tables := !isLeaf(t.Elem())
	var elems []any
	switch v := data.(type) {
	case []any:
		elems = v
	case []map[string]any:
		for _, e := range v {
			elems = append(elems, e)
		}
	default:
		if tables {
			d.fail(key, "expected an array of tables, got %s (write [[%s]], with double brackets: there can be several)", describe(data), key)
			return false
		}
		hint := ""
		if s, ok := data.(string); ok && !isSecretKey(key) {
			hint = fmt.Sprintf(" (write [%s], even for one entry)", strconv.Quote(s))
		}
		d.fail(key, "expected an array, got %s%s", describe(data), hint)
		return false
	}
	out := reflect.MakeSlice(t, len(elems), len(elems))
	good := true
	for i, e := range elems {
		if !d.decode(key+"["+strconv.Itoa(i)+"]", out.Index(i), e) {
			good = false
		}
	}
	rv.Set(out)
	return good
}

func (d *decoder) integer(key string, rv reflect.Value, data any) bool {
	var n int64
	switch v := data.(type) {
	case int64:
		n = v
	case float64:
		// A whole number written as 32.0, as Helm renders the numbers of
		// a values file, is that number.
		if v != math.Trunc(v) || math.IsInf(v, 0) || v >= math.MaxInt64 || v < math.MinInt64 {
			d.fail(key, "expected a whole number, got %v", v)
			return false
		}
		n = int64(v)
	default:
		d.fail(key, "expected a whole number, got %s%s", describe(data), unquoteHint(key, data))
		return false
	}
	switch rv.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n < 0 || rv.OverflowUint(uint64(n)) {
			d.fail(key, "%d is out of range", n)
			return false
		}
		rv.SetUint(uint64(n))
	default:
		if rv.OverflowInt(n) {
			d.fail(key, "%d is out of range", n)
			return false
		}
		rv.SetInt(n)
	}
	return true
}

func (d *decoder) duration(key string, rv reflect.Value, data any) bool {
	switch v := data.(type) {
	case string:
		dur, err := time.ParseDuration(v)
		if err != nil {
			d.fail(key, "%q is not a duration (use e.g. \"90s\", \"5m\" or \"12h\")", v)
			return false
		}
		rv.Set(reflect.ValueOf(Duration{dur}))
	case int64, float64:
		d.fail(key, "%v has no unit (write a string with a unit, e.g. \"%vs\" for seconds)", v, v)
		return false
	default:
		d.fail(key, "expected a duration such as \"90s\", got %s", describe(data))
		return false
	}
	return true
}

// describe names the kind of a decoded TOML value in plain words.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		if v == math.Trunc(v) {
			return "a number"
		}
		return "a decimal number"
	case bool:
		return "a boolean (true or false)"
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date or time"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("a value of TOML type %T", v)
}

// quoteHint suggests quotes for a number or boolean written where a string
// is expected.
func quoteHint(data any) string {
	switch data.(type) {
	case int64, float64, bool:
		return " (put it in quotes)"
	}
	return ""
}

// unquoteHint suggests dropping the quotes of a number or boolean written as
// a string.
func unquoteHint(key string, data any) string {
	s, ok := data.(string)
	if !ok || isSecretKey(key) {
		return ""
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil || s == "true" || s == "false" {
		return fmt.Sprintf(" (write %s, without quotes)", s)
	}
	return fmt.Sprintf(" %q", s)
}

// isSecretKey reports whether key may hold a secret, whose value is never
// printed: a name with "secret", "password" or "credential" in it, a name
// ending in "key" (not "_file"), or an entry of a table of headers (an
// Authorization header of an exporter, say).
func isSecretKey(key string) bool {
	i := strings.LastIndexByte(key, '.')
	last := key[i+1:]
	if strings.HasSuffix(last, "_file") {
		return false
	}
	if i > 0 && strings.Contains(key[strings.LastIndexByte(key[:i], '.')+1:i], "header") {
		return true
	}
	for _, w := range []string{"secret", "password", "credential"} {
		if strings.Contains(last, w) {
			return true
		}
	}
	return last == "key" || strings.HasSuffix(last, "_key")
}
