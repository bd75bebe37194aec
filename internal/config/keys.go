package config

import (
	"encoding"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

// schema is the set of TOML key paths a Config accepts, such as
// "session.redis.url" and "upstream.pass_access_token" (array elements carry
// no index). Keys under a map-valued key (provider.extra_auth_params) are
// free-form.
type schema struct {
	keys map[string]bool // every table and leaf path
	maps map[string]bool // paths whose children are free-form
}

var configSchema = sync.OnceValue(func() schema {
	s := schema{keys: map[string]bool{}, maps: map[string]bool{}}
	s.walk("", reflect.TypeFor[Config]())
	return s
})

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func (s schema) walk(prefix string, t reflect.Type) {
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			s.walk(prefix, f.Type) // an embedded struct's keys are its parent's (as the decoder reads them)
			continue
		}
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		s.keys[path] = true
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		switch {
		case reflect.PointerTo(ft).Implements(textUnmarshaler):
			// A leaf written as a string, such as Duration.
		case ft.Kind() == reflect.Struct:
			s.walk(path, ft)
		case ft.Kind() == reflect.Map:
			s.maps[path] = true
		}
	}
}

// known reports whether k is a key the schema accepts, matching exactly (the
// decoder itself matches field names case-insensitively).
func (s schema) known(k toml.Key) bool {
	if len(k) > 1 && s.maps[strings.Join(k[:len(k)-1], ".")] {
		return true
	}
	return s.keys[strings.Join(k, ".")]
}

// suggest returns the schema key that k most likely misspells, or "".
func (s schema) suggest(k toml.Key) string {
	parent := strings.Join(k[:len(k)-1], ".")
	last := k[len(k)-1]
	best, bestDist := "", 3 // suggest only within an edit distance of 2
	for _, cand := range slices.Sorted(maps.Keys(s.keys)) {
		cp, cl := "", cand
		if i := strings.LastIndexByte(cand, '.'); i >= 0 {
			cp, cl = cand[:i], cand[i+1:]
		}
		if cp != parent {
			continue
		}
		if strings.EqualFold(cl, last) {
			return cand
		}
		if d := editDistance(cl, last); d < bestDist {
			best, bestDist = cand, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
