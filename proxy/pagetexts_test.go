package proxy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/ui"
)

// TestEveryPageTextIsTranslated: every Title and Detail of the gateway's
// errors (an httpError literal, or a literal assigned to one's field) is in
// the pages' catalog, which has it in every language (internal/ui tests).
// Otherwise a German page would show an English sentence.
func TestEveryPageTextIsTranslated(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	check := func(pos token.Pos, lit ast.Expr) {
		bl, ok := lit.(*ast.BasicLit)
		if !ok || bl.Kind != token.STRING {
			return
		}
		s, err := strconv.Unquote(bl.Value)
		if err != nil {
			t.Fatal(err)
		}
		n++
		if !ui.HasMessage(s) {
			t.Errorf("%s: %q is not in internal/ui's catalog (messages.go)", fset.Position(pos), s)
		}
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(node ast.Node) bool {
			switch node := node.(type) {
			case *ast.CompositeLit:
				if id, ok := node.Type.(*ast.Ident); !ok || id.Name != "httpError" {
					return true
				}
				for _, el := range node.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && (k.Name == "Title" || k.Name == "Detail") {
							check(kv.Pos(), kv.Value)
						}
					}
				}
			case *ast.AssignStmt:
				for i, l := range node.Lhs {
					if se, ok := l.(*ast.SelectorExpr); ok && (se.Sel.Name == "Title" || se.Sel.Name == "Detail") && i < len(node.Rhs) {
						check(se.Pos(), node.Rhs[i])
					}
				}
			}
			return true
		})
	}
	if n < 50 {
		t.Errorf("found only %d texts: the test no longer finds the errors", n)
	}
}
