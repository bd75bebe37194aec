package identity

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// claimsJSON decodes s as encoding/json does an ID token's payload.
func claimsJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFromClaims(t *testing.T) {
	tests := []struct {
		name    string
		claims  string
		mapping Mapping
		want    Identity
	}{
		{
			name: "standard claims",
			claims: `{"sub":"248289761001","email":"jane@example.com","email_verified":true,
				"preferred_username":"jane","name":"Jane Doe","groups":["staff","admins"]}`,
			want: Identity{Subject: "248289761001", Email: "jane@example.com", EmailVerified: true,
				PreferredUsername: "jane", Name: "Jane Doe", Groups: []string{"staff", "admins"}},
		},
		{
			name:   "only sub",
			claims: `{"sub":"u1"}`,
			want:   Identity{Subject: "u1"},
		},
		{
			name:   "email_verified as string",
			claims: `{"sub":"u1","email":"a@example.com","email_verified":"true"}`,
			want:   Identity{Subject: "u1", Email: "a@example.com", EmailVerified: true},
		},
		{
			name:   "email_verified as upper-case string",
			claims: `{"sub":"u1","email_verified":"TRUE"}`,
			want:   Identity{Subject: "u1", EmailVerified: true},
		},
		{
			name:   "email_verified false string",
			claims: `{"sub":"u1","email_verified":"false"}`,
			want:   Identity{Subject: "u1"},
		},
		{
			name:   "email_verified number",
			claims: `{"sub":"u1","email_verified":1}`,
			want:   Identity{Subject: "u1"},
		},
		{
			name:   "non-string scalars ignored",
			claims: `{"sub":"u1","email":42,"preferred_username":["x"],"name":{"first":"J"}}`,
			want:   Identity{Subject: "u1"},
		},
		{
			name:   "single group string is one group",
			claims: `{"sub":"u1","groups":"staff,admins"}`,
			want:   Identity{Subject: "u1", Groups: []string{"staff,admins"}},
		},
		{
			name:   "non-string and empty groups ignored",
			claims: `{"sub":"u1","groups":["a",1,null,"",{"b":"c"},["d"],true,"e"]}`,
			want:   Identity{Subject: "u1", Groups: []string{"a", "e"}},
		},
		{
			name:   "empty groups array",
			claims: `{"sub":"u1","groups":[]}`,
			want:   Identity{Subject: "u1"},
		},
		{
			name:   "groups object ignored",
			claims: `{"sub":"u1","groups":{"a":"b"}}`,
			want:   Identity{Subject: "u1"},
		},
		{
			name:    "Keycloak realm roles",
			claims:  `{"sub":"u1","realm_access":{"roles":["offline_access","admin"]}}`,
			mapping: Mapping{Groups: "realm_access.roles"},
			want:    Identity{Subject: "u1", Groups: []string{"offline_access", "admin"}},
		},
		{
			name:    "Keycloak client roles with dash",
			claims:  `{"sub":"u1","resource_access":{"my-app":{"roles":["editor"]}}}`,
			mapping: Mapping{Groups: "resource_access.my-app.roles"},
			want:    Identity{Subject: "u1", Groups: []string{"editor"}},
		},
		{
			name:    "Auth0 namespaced claim with dots",
			claims:  `{"sub":"u1","https://example.com/roles":["r1"],"https://example":{"com/roles":["wrong"]}}`,
			mapping: Mapping{Groups: "https://example.com/roles"},
			want:    Identity{Subject: "u1", Groups: []string{"r1"}},
		},
		{
			name:    "dotted key inside nested object",
			claims:  `{"sub":"u1","ext":{"example.com":{"groups":["g"]}}}`,
			mapping: Mapping{Groups: "ext.example.com.groups"},
			want:    Identity{Subject: "u1", Groups: []string{"g"}},
		},
		{
			name:    "path through a non-object",
			claims:  `{"sub":"u1","realm_access":"roles"}`,
			mapping: Mapping{Groups: "realm_access.roles"},
			want:    Identity{Subject: "u1"},
		},
		{
			name:    "custom user and email claims",
			claims:  `{"sub":"opaque","upn":"jdoe@corp.example","attrs":{"mail":"jdoe@example.com"},"email":"other@example.com"}`,
			mapping: Mapping{User: "upn", Email: "attrs.mail", PreferredUsername: "upn"},
			want: Identity{Subject: "jdoe@corp.example", Email: "jdoe@example.com",
				PreferredUsername: "jdoe@corp.example"},
		},
		{
			name:   "UTF-8 subject",
			claims: `{"sub":"josé","name":"José Ñúñez"}`,
			want:   Identity{Subject: "josé", Name: "José Ñúñez"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromClaims(claimsJSON(t, tc.claims), tc.mapping)
			if err != nil {
				t.Fatalf("FromClaims: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("FromClaims mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromClaimsTypedGroups(t *testing.T) {
	got, err := FromClaims(map[string]any{"sub": "u1", "groups": []string{"a", "", "b"}}, Mapping{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b"}, got.Groups); diff != "" {
		t.Errorf("Groups mismatch (-want +got):\n%s", diff)
	}
}

func TestFromClaimsInvalidUser(t *testing.T) {
	tests := []struct {
		name    string
		claims  map[string]any
		mapping Mapping
	}{
		{"nil claims", nil, Mapping{}},
		{"missing sub", map[string]any{"email": "a@example.com"}, Mapping{}},
		{"empty sub", map[string]any{"sub": ""}, Mapping{}},
		{"numeric sub", map[string]any{"sub": 12345.0}, Mapping{}},
		{"null sub", map[string]any{"sub": nil}, Mapping{}},
		{"array sub", map[string]any{"sub": []any{"a"}}, Mapping{}},
		{"CRLF in sub", map[string]any{"sub": "alice\r\nX-Forwarded-Groups: admins"}, Mapping{}},
		{"NUL in sub", map[string]any{"sub": "alice\x00"}, Mapping{}},
		{"trailing space", map[string]any{"sub": "alice "}, Mapping{}},
		{"leading space", map[string]any{"sub": " alice"}, Mapping{}},
		{"tab", map[string]any{"sub": "alice\t"}, Mapping{}},
		{"mapped claim missing", map[string]any{"sub": "u1"}, Mapping{User: "email"}},
		{"mapped path missing", map[string]any{"sub": "u1", "a": map[string]any{}}, Mapping{User: "a.b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := FromClaims(tc.claims, tc.mapping)
			if !errors.Is(err, ErrInvalidUser) {
				t.Fatalf("FromClaims = %+v, %v; want ErrInvalidUser", id, err)
			}
			if diff := cmp.Diff(Identity{}, id); diff != "" {
				t.Errorf("FromClaims returned a non-zero Identity with its error:\n%s", diff)
			}
		})
	}
}

func TestFromClaimsErrorOmitsValue(t *testing.T) {
	_, err := FromClaims(map[string]any{"sub": "secret-value\n"}, Mapping{})
	if err == nil {
		t.Fatal("FromClaims accepted a subject with LF")
	}
	if got := err.Error(); got != `identity: invalid user claim: claim "sub" has control characters or surrounding spaces` {
		t.Errorf("error = %q", got)
	}
}
