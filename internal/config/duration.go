package config

import (
	"fmt"
	"strings"
	"time"
)

// Duration is a [time.Duration] written in TOML as a string accepted by
// [time.ParseDuration], such as "90s" or "12h". A bare number is refused: it
// has no unit.
type Duration struct{ time.Duration }

// UnmarshalText implements [encoding.TextUnmarshaler]. The decoder reports
// its error with the key and line.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("invalid duration %q: want a number with a unit, such as \"90s\" or \"12h\"", text)
	}
	d.Duration = v
	return nil
}

// MarshalText implements [encoding.TextMarshaler]. It drops zero trailing
// units: "12h", "2m", "1h30m".
func (d Duration) MarshalText() ([]byte, error) {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return []byte(s), nil
}
