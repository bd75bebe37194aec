package session_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/gatehouse-dev/gatehouse/session/memstore"
)

func TestTicketFromBearer(t *testing.T) {
	c := newClock()
	m := newManager(t, memstore.New(), c, 0)
	ticket, err := m.Create(t.Context(), sample())
	if err != nil {
		t.Fatal(err)
	}
	other, err := m.Create(t.Context(), sample())
	if err != nil {
		t.Fatal(err)
	}
	forged := []byte(ticket)
	forged[len(forged)/2] ^= 1
	tests := []struct {
		name          string
		authorization string
		cookie        string
		want          string
	}{
		{"BearerTicket", "Bearer " + ticket, "", ticket},
		{"SchemeCaseInsensitive", "bearer " + ticket, "", ticket},
		{"CookieWins", "Bearer " + other, ticket, ticket},
		{"NoHeader", "", "", ""},
		{"BasicScheme", "Basic " + ticket, "", ""},
		{"JWT", "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl", "", ""},
		{"OpaqueASToken", "Bearer 2YotnFZFEjr1zCsicMWpAA", "", ""},
		{"ForgedTicket", "Bearer " + string(forged), "", ""},
		{"TooLong", "Bearer " + strings.Repeat("A", 600), "", ""},
		{"Empty", "Bearer ", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "http://gw.example/", nil)
			if tc.authorization != "" {
				r.Header.Set("Authorization", tc.authorization)
			}
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: m.CookieName(), Value: tc.cookie})
			}
			if got := m.TicketFromRequest(r); got != tc.want {
				t.Errorf("TicketFromRequest = %q, want %q", got, tc.want)
			}
		})
	}
	r, _ := http.NewRequest(http.MethodGet, "http://gw.example/", nil)
	r.Header.Set("Authorization", "Bearer "+ticket)
	s, err := m.Load(t.Context(), m.TicketFromRequest(r))
	if err != nil || s.Subject != "alice" {
		t.Errorf("Load(bearer ticket) = %v, %v", s, err)
	}
}

func FuzzTicketFromBearer(f *testing.F) {
	m, err := session.NewManager(session.Options{Store: memstore.New(), Secret: secret})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("Bearer abc")
	f.Add("Bearer a.b.c")
	f.Add("Bearer MTc2MDAwMDAwMHx0aWNrZXR8bWFj")
	f.Fuzz(func(t *testing.T, header string) {
		r, _ := http.NewRequest(http.MethodGet, "http://gw.example/", nil)
		r.Header["Authorization"] = []string{header}
		if got := m.TicketFromRequest(r); got != "" && !m.IsTicket(got) {
			t.Errorf("TicketFromRequest(%q) = %q, which is not a ticket", header, got)
		}
	})
}
