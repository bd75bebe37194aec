package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The house rules of ../shared/STYLE.md and docs/architecture.md that keep
// the product module's code in pieces one can read: no type has more than
// maxMethods methods, no .go file more than maxLines lines. A type that
// grows past the limit is split by responsibility (see internal/convert's
// reader and upstreamMapper, proxy's returnURLs), not by renaming methods
// into free functions.
const (
	maxMethods = 25
	maxLines   = 500
)

// TestNoTypeHasMoreThan25Methods counts the methods declared on each type
// of the product module's non-test code, per package.
func TestNoTypeHasMoreThan25Methods(t *testing.T) {
	root, files := productGoFiles(t)
	fset := token.NewFileSet()
	counts := methodCounts{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(root, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		counts.add(filepath.ToSlash(filepath.Dir(name)), f)
	}
	if len(counts) == 0 {
		t.Fatalf("no method found in the product module at %s", root)
	}
	for _, o := range counts.over(maxMethods) {
		t.Errorf("%s: more than %d methods; split it by responsibility", o, maxMethods)
	}
}

// TestNoGoFileOver500Lines checks every .go file of the product module,
// tests included.
func TestNoGoFileOver500Lines(t *testing.T) {
	root, files := productGoFiles(t)
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if n := lineCount(data); n > maxLines {
			t.Errorf("%s: %d lines, more than %d; split it by concept", filepath.ToSlash(name), n, maxLines)
		}
	}
}

// TestMethodCounter: the counter finds methods on pointer and generic
// receivers, counts a method declared once per build variant once, and
// keeps the types of two packages apart.
func TestMethodCounter(t *testing.T) {
	src := func(body string) *ast.File {
		f, err := parser.ParseFile(token.NewFileSet(), "x.go", "package p\n"+body, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	counts := methodCounts{}
	counts.add("a", src(`
type T struct{}
type G[K comparable, V any] struct{}
func (T) A() {}
func (t *T) B() {}
func (g *G[K, V]) C() {}
func (G[K, V]) D() {}
func F() {}`))
	counts.add("a", src(`func (t *T) B() {}`)) // B again, in a file of another build variant
	counts.add("b", src(`func (t *T) A() {}`))
	got := map[string]int{}
	for k, v := range counts {
		got[k] = len(v)
	}
	want := map[string]int{"a.T": 2, "a.G": 2, "b.T": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts %v, want %v", got, want)
	}
	if o := counts.over(1); !slices.Equal(o, []string{"a.G: 2 methods", "a.T: 2 methods"}) {
		t.Errorf("over(1) = %q", o)
	}
	if n := lineCount([]byte("a\nb\n")) + lineCount([]byte("a\nb")) + lineCount(nil); n != 4 {
		t.Errorf("line counts add up to %d, want 4", n)
	}
}

// methodCounts holds the names of the methods of each type, by
// "package directory.type".
type methodCounts map[string]map[string]bool

func (mc methodCounts) add(dir string, f *ast.File) {
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || len(fn.Recv.List) == 0 {
			continue
		}
		typ := receiverType(fn.Recv.List[0].Type)
		if typ == "" {
			continue
		}
		k := dir + "." + typ
		if mc[k] == nil {
			mc[k] = map[string]bool{}
		}
		mc[k][fn.Name.Name] = true
	}
}

// over lists the types with more than limit methods, sorted.
func (mc methodCounts) over(limit int) []string {
	var out []string
	for k, m := range mc {
		if len(m) > limit {
			out = append(out, fmt.Sprintf("%s: %d methods", k, len(m)))
		}
	}
	slices.Sort(out)
	return out
}

// receiverType is the name of a receiver's type: T of T, *T, T[K] or
// *T[K, V].
func receiverType(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

// lineCount counts lines as wc -l does, plus an unterminated last line.
func lineCount(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// productGoFiles returns the product module's root and its .go files,
// relative to the root: every directory below the root's go.mod but those
// of the other modules (e2e, bench, internal/deploytest: a go.mod of their
// own) and the ones the go command ignores (testdata, names starting with
// "." or "_"), and node_modules.
func productGoFiles(t *testing.T) (string, []string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.HasPrefix(mod, []byte("module github.com/gatehouse-dev/gatehouse\n")) {
		t.Fatalf("%s is not the product module's root: %v", root, err)
	}
	var files []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == root {
				return nil
			}
			name := d.Name()
			if name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".go") && d.Type().IsRegular() {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("found %d .go files under %s; the walk missed the module", len(files), root)
	}
	return root, files
}
