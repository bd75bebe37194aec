package ui

import (
	"testing"

	"golang.org/x/text/language"
)

// TestEveryMessageInEveryLanguage: a message missing in a language would
// show English in the middle of a German page.
func TestEveryMessageInEveryLanguage(t *testing.T) {
	if len(languages) != 4 {
		t.Fatalf("languages %v: the catalog holds de, fr and it besides en", languages)
	}
	for key, m := range catalog {
		for tag, s := range map[language.Tag]string{language.German: m.de, language.French: m.fr, language.Italian: m.it} {
			if s == "" {
				t.Errorf("%q has no %s text", key, tag)
			}
			if got := translate(tag, key); got != s {
				t.Errorf("translate(%s, %q) = %q, want %q", tag, key, got, s)
			}
		}
	}
}

// TestTemplatesUseOnlyKnownMessages: every .T "..." in the embedded
// templates is in the catalog (New checks the same for replacements).
func TestTemplatesUseOnlyKnownMessages(t *testing.T) {
	texts, err := readTemplates(embedded, "templates")
	if err != nil {
		t.Fatal(err)
	}
	sets, err := parseSets(texts)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, set := range sets {
		for _, tt := range set.Templates() {
			if tt.Tree == nil {
				continue
			}
			for _, key := range messageKeys(tt.Tree.Root) {
				n++
				if !HasMessage(key) {
					t.Errorf("%s uses %q, which the catalog lacks", tt.Name(), key)
				}
			}
		}
	}
	if n < 10 {
		t.Errorf("found only %d message uses: messageKeys misses them", n)
	}
}
