package ui

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
)

// Default colours.
const (
	DefaultPrimaryColor    = "#2f6fde"
	DefaultBackgroundColor = "#f4f5f7"
)

// theme is the pages' colours. The text on buttons and on the background is
// black or white, whichever contrasts more (WCAG 2.x); links take the
// primary colour only where it contrasts enough with the white card.
type theme struct {
	primary, onPrimary, link, bg, onBg string
}

// IsHexColor reports whether s is a CSS hex colour, "#rgb" or "#rrggbb".
func IsHexColor(s string) bool {
	_, ok := parseHex(s)
	return ok
}

func newTheme(primary, bg string) (theme, error) {
	if primary == "" {
		primary = DefaultPrimaryColor
	}
	if bg == "" {
		bg = DefaultBackgroundColor
	}
	p, ok := parseHex(primary)
	if !ok {
		return theme{}, fmt.Errorf("ui: primary colour %q is not #rgb or #rrggbb", primary)
	}
	b, ok := parseHex(bg)
	if !ok {
		return theme{}, fmt.Errorf("ui: background colour %q is not #rgb or #rrggbb", bg)
	}
	t := theme{primary: hex(p), onPrimary: textOn(p), bg: hex(b), onBg: textOn(b), link: hex(p)}
	if contrast(luminance(p), 1) < 4.5 { // too light for links on the white card
		t.link = "#1f2933"
	}
	return t, nil
}

func (t theme) css() template.CSS {
	return template.CSS(fmt.Sprintf("--primary:%s;--on-primary:%s;--link:%s;--bg:%s;--on-bg:%s", t.primary, t.onPrimary, t.link, t.bg, t.onBg))
}

type rgb [3]uint8

func parseHex(s string) (rgb, bool) {
	if len(s) != 4 && len(s) != 7 || s[0] != '#' {
		return rgb{}, false
	}
	digits := s[1:]
	if len(digits) == 3 {
		digits = string([]byte{digits[0], digits[0], digits[1], digits[1], digits[2], digits[2]})
	}
	var c rgb
	for i := range c {
		v, err := strconv.ParseUint(digits[2*i:2*i+2], 16, 8)
		if err != nil {
			return rgb{}, false
		}
		c[i] = uint8(v)
	}
	return c, true
}

func hex(c rgb) string { return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2]) }

// luminance is the relative luminance of c (WCAG 2.x).
func luminance(c rgb) float64 {
	var l [3]float64
	for i, v := range c {
		s := float64(v) / 255
		if s <= 0.04045 {
			l[i] = s / 12.92
		} else {
			l[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

// contrast is the contrast ratio of two luminances (WCAG 2.x).
func contrast(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	return (a + 0.05) / (b + 0.05)
}

// textOn returns the text colour, near-black or white, that contrasts more
// with background c.
func textOn(c rgb) string {
	l := luminance(c)
	const dark = "#1f2933"
	darkL := luminance(rgb{0x1f, 0x29, 0x33})
	if contrast(l, darkL) >= contrast(l, 1) {
		return dark
	}
	return "#ffffff"
}
