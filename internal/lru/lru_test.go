package lru

import (
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	t.Run("evicts the least recently used", func(t *testing.T) {
		c := New[string, int](2)
		c.Add("a", 1, time.Time{})
		c.Add("b", 2, time.Time{})
		if v, ok := c.Get("a", t0); !ok || v != 1 {
			t.Fatalf("a = %v, %v", v, ok)
		}
		c.Add("c", 3, time.Time{}) // b is the least recently used
		if _, ok := c.Get("b", t0); ok {
			t.Error("b kept, want evicted")
		}
		for k, want := range map[string]int{"a": 1, "c": 3} {
			if v, ok := c.Get(k, t0); !ok || v != want {
				t.Errorf("%s = %v, %v; want %v", k, v, ok, want)
			}
		}
		if n := c.Len(); n != 2 {
			t.Errorf("Len = %d, want 2", n)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		c := New[string, int](4)
		c.Add("a", 1, t0.Add(time.Second))
		c.Add("forever", 2, time.Time{})
		if _, ok := c.Get("a", t0.Add(time.Second-1)); !ok {
			t.Error("a missing before its expiry")
		}
		if _, ok := c.Get("a", t0.Add(time.Second)); ok {
			t.Error("a returned at its expiry")
		}
		if n := c.Len(); n != 1 {
			t.Errorf("Len = %d after an expired Get, want 1 (removed)", n)
		}
		if _, ok := c.Get("forever", t0.Add(1000*time.Hour)); !ok {
			t.Error("an entry without expiry expired")
		}
	})
	t.Run("replace and remove", func(t *testing.T) {
		c := New[int, string](1)
		c.Add(1, "x", time.Time{})
		c.Add(1, "y", time.Time{})
		if v, _ := c.Get(1, t0); v != "y" || c.Len() != 1 {
			t.Errorf("after replace: %q, Len %d", v, c.Len())
		}
		c.Remove(1)
		if _, ok := c.Get(1, t0); ok || c.Len() != 0 {
			t.Error("Remove kept the entry")
		}
	})
	t.Run("size below one holds one", func(t *testing.T) {
		c := New[int, int](0)
		c.Add(1, 1, time.Time{})
		if _, ok := c.Get(1, t0); !ok {
			t.Error("entry missing")
		}
	})
}
