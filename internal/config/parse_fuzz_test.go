package config

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse: a configuration file is decoded strictly. Parse and Validate
// never panic, and no error message repeats a secret given in the
// environment.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../../config.example.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(example))
	for _, s := range []string{
		"", "[server]\nlisten = 1\n", "[upstream]\nurl = \"http://x\"\n", "[[upstream]]\npath_prefix = \"//\"\n",
		"[session]\nlifetime = \"-1s\"\n", "[server]\nnope = true\n", "[provider]\nissuer = \"http://127.0.0.1:9000\"\nscopes = []\n",
		"[[rest_api.application]]\nname = \"\"\n", "[limits]\nflows_per_client = 0\n", "x = \"\\ud800\"\n", "[a.b.c]\n[a]\n",
	} {
		f.Add(s)
	}
	const secret = "fuzz-secret-that-must-never-print-0123456789"
	getenv := func(k string) string {
		switch k {
		case EnvClientSecret, EnvCookieSecret, EnvRedisPassword:
			return secret
		}
		return ""
	}
	f.Fuzz(func(t *testing.T, data string) {
		if strings.Contains(data, "_file") {
			t.Skip("*_file keys read files: I/O, not decoding")
		}
		c, err := Parse([]byte(data), getenv)
		if err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("Parse error repeats the secret: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil && strings.Contains(err.Error(), secret) {
			t.Fatalf("Validate error repeats the secret: %v", err)
		}
	})
}
