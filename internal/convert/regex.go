package convert

import (
	"fmt"
	"regexp/syntax"
	"strings"
)

// maxExpansions bounds the paths one regular expression may expand to.
const maxExpansions = 16

// skipPaths converts an oauth2-proxy skip_auth_regex pattern into Gatehouse
// skip_auth paths ("/exact", "/prefix/*"). It succeeds only for patterns
// anchored at the start whose body is literal text (with alternatives of
// literals, optional literals and small character classes) followed by "$"
// (exact), ".*" or nothing (prefix). narrower is true when the paths skip
// less than the pattern did ("^/public" also matched "/publicity"). Any
// other pattern is refused with the reason: guessing could skip
// authentication where the operator never meant to.
func skipPaths(pattern string) (paths []string, narrower bool, err error) {
	re, perr := syntax.Parse(pattern, syntax.Perl)
	if perr != nil {
		return nil, false, fmt.Errorf("not a valid regular expression: %v", perr)
	}
	nodes := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		nodes = re.Sub
	}
	if len(nodes) == 0 || (nodes[0].Op != syntax.OpBeginText && nodes[0].Op != syntax.OpBeginLine) {
		return nil, false, fmt.Errorf("not anchored with ^: it matches anywhere in the path")
	}
	nodes = nodes[1:]
	exact := false
	if n := len(nodes); n > 0 && (nodes[n-1].Op == syntax.OpEndText || nodes[n-1].Op == syntax.OpEndLine) {
		exact, nodes = true, nodes[:n-1]
	}
	if n := len(nodes); n > 0 {
		if last := nodes[n-1]; (last.Op == syntax.OpStar || last.Op == syntax.OpPlus) && isAnyChar(last.Sub[0]) {
			exact, nodes = false, nodes[:n-1] // "/static/.*$" is a prefix
		}
	}
	alts := []string{""}
	for _, n := range nodes {
		next, err := expand(n, &narrower)
		if err != nil {
			return nil, false, err
		}
		var out []string
		for _, a := range alts {
			for _, x := range next {
				out = append(out, a+x)
			}
		}
		if len(out) > maxExpansions {
			return nil, false, fmt.Errorf("expands to more than %d paths", maxExpansions)
		}
		alts = out
	}
	for _, a := range alts {
		if !strings.HasPrefix(a, "/") {
			return nil, false, fmt.Errorf("a path it matches does not start with a literal \"/\"")
		}
		switch {
		case exact:
			paths = append(paths, a)
		case a == "/":
			return nil, false, fmt.Errorf("it matches every path: skipping authentication everywhere is auth = \"public\" on a route, said plainly")
		case strings.HasSuffix(a, "/"):
			paths = append(paths, a+"*")
		default:
			paths = append(paths, a, a+"/*")
			narrower = true
		}
	}
	return paths, narrower, nil
}

func isAnyChar(r *syntax.Regexp) bool {
	return r.Op == syntax.OpAnyChar || r.Op == syntax.OpAnyCharNotNL
}

// expand returns the literal strings a node matches, or an error for a node
// that is not a small set of literals.
func expand(n *syntax.Regexp, narrower *bool) ([]string, error) {
	switch n.Op {
	case syntax.OpLiteral:
		if n.Flags&syntax.FoldCase != 0 {
			return nil, fmt.Errorf("case-insensitive matching has no path equivalent")
		}
		return []string{string(n.Rune)}, nil
	case syntax.OpEmptyMatch:
		return []string{""}, nil
	case syntax.OpCapture:
		return expand(n.Sub[0], narrower)
	case syntax.OpConcat:
		out := []string{""}
		for _, s := range n.Sub {
			next, err := expand(s, narrower)
			if err != nil {
				return nil, err
			}
			var cross []string
			for _, a := range out {
				for _, b := range next {
					cross = append(cross, a+b)
				}
			}
			out = cross
			if len(out) > maxExpansions {
				return nil, fmt.Errorf("expands to more than %d paths", maxExpansions)
			}
		}
		return out, nil
	case syntax.OpAlternate:
		var out []string
		for _, s := range n.Sub {
			next, err := expand(s, narrower)
			if err != nil {
				return nil, err
			}
			out = append(out, next...)
		}
		return out, nil
	case syntax.OpQuest:
		next, err := expand(n.Sub[0], narrower)
		if err != nil {
			return nil, err
		}
		return append([]string{""}, next...), nil
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		// Most often an unescaped dot meant literally ("^/favicon.ico$"):
		// the literal dot matches less, never more.
		*narrower = true
		return []string{"."}, nil
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(n.Rune); i += 2 {
			for r := n.Rune[i]; r <= n.Rune[i+1]; r++ {
				out = append(out, string(r))
				if len(out) > 8 {
					return nil, fmt.Errorf("a character class wider than 8 characters has no path equivalent")
				}
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s has no path equivalent", describeOp(n))
}

func describeOp(n *syntax.Regexp) string {
	switch n.Op {
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return "\".\" (any character, or an unescaped dot)"
	case syntax.OpStar, syntax.OpPlus, syntax.OpRepeat:
		return "a repetition (" + n.String() + ")"
	case syntax.OpEndText, syntax.OpEndLine:
		return "\"$\" before the end"
	}
	return "\"" + n.String() + "\""
}
