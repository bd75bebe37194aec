package ui

import "golang.org/x/text/language"

// languages are the pages' languages, the default first.
var languages = []language.Tag{language.English, language.German, language.French, language.Italian}

var matcher = language.NewMatcher(languages)

// Negotiate returns the language of the pages for an Accept-Language
// header value: English, German, French or Italian, English when none of
// them is accepted.
func Negotiate(acceptLanguage string) language.Tag {
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(prefs) == 0 {
		return language.English
	}
	_, i, conf := matcher.Match(prefs...)
	if conf == language.No {
		return language.English
	}
	return languages[i]
}

// Languages returns the pages' languages, English first.
func Languages() []language.Tag { return append([]language.Tag(nil), languages...) }

// translate returns key in language tag; key itself (English) when tag is
// English or the catalog lacks it.
func translate(tag language.Tag, key string) string {
	m, ok := catalog[key]
	if !ok {
		return key
	}
	var s string
	switch tag {
	case language.German:
		s = m.de
	case language.French:
		s = m.fr
	case language.Italian:
		s = m.it
	}
	if s == "" {
		return key
	}
	return s
}

// HasMessage reports whether the catalog translates key (an English text).
func HasMessage(key string) bool {
	_, ok := catalog[key]
	return ok
}
