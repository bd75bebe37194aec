package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/redistest"
	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/google/go-cmp/cmp"
)

// subscribe runs Subscribe in the background until the test ends or cancel is
// called, and returns the channel of received keys and the channel of
// Subscribe's result.
func subscribe(t *testing.T, s *Store) (ctx context.Context, cancel context.CancelFunc, keys <-chan string, done <-chan error) {
	ctx, cancel = context.WithCancel(t.Context())
	k := make(chan string, 100)
	d := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		d <- s.Subscribe(ctx, func(key string) {
			select {
			case k <- key:
			case <-ctx.Done():
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	return ctx, cancel, k, d
}

// waitSubscribed publishes probe keys until keys delivers one: the
// subscription is then in place.
func waitSubscribed(t *testing.T, pub *Store, keys <-chan string) {
	t.Helper()
	eventually(t, 10*time.Second, "subscription", func(ctx context.Context) error {
		if err := pub.Publish(ctx, "probe"); err != nil {
			return err
		}
		select {
		case <-keys:
			return nil
		case <-time.After(50 * time.Millisecond):
			return errors.New("no probe received")
		}
	})
	// Drain probes still under way.
	for {
		select {
		case <-keys:
		case <-time.After(100 * time.Millisecond):
			return
		}
	}
}

// receive returns the next n keys other than probes.
func receive(t *testing.T, keys <-chan string, n int) []string {
	t.Helper()
	var got []string
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case k := <-keys:
			if k != "probe" {
				got = append(got, k)
			}
		case <-timeout:
			t.Fatalf("received %v, want %d keys", got, n)
		}
	}
	return got
}

func TestNotifier(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	pub := newStore(t, Options{URL: srv.URL})
	sub1 := newStore(t, Options{URL: srv.URL}) // another replica
	other := newStore(t, Options{URL: srv.URL, KeyPrefix: "other:"})
	ctx := t.Context()

	_, _, keys0, _ := subscribe(t, pub)
	_, cancel1, keys1, done1 := subscribe(t, sub1)
	_, _, keysOther, _ := subscribe(t, other)
	waitSubscribed(t, pub, keys0)
	waitSubscribed(t, pub, keys1)
	waitSubscribed(t, other, keysOther)

	for _, k := range []string{"a", "b", "c"} {
		if err := pub.Publish(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a", "b", "c"}
	for i, keys := range []<-chan string{keys0, keys1} {
		if diff := cmp.Diff(want, receive(t, keys, 3)); diff != "" {
			t.Errorf("subscriber %d (-want +got):\n%s", i, diff)
		}
	}
	// Another KeyPrefix is another channel.
	select {
	case k := <-keysOther:
		t.Errorf("subscriber with another prefix received %q", k)
	case <-time.After(100 * time.Millisecond):
	}

	cancel1()
	if err := <-done1; err != nil {
		t.Errorf("Subscribe after cancel = %v, want nil", err)
	}
}

func TestSubscribeEndsOnClose(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s, err := New(Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, _, keys, done := subscribe(t, s)
	waitSubscribed(t, s, keys)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, session.ErrUnavailable) {
		t.Errorf("Ping after Close = %v, want ErrUnavailable", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, session.ErrUnavailable) {
			t.Fatalf("Subscribe after Close = %v, want ErrUnavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Subscribe still runs 5s after Close")
	}
}
