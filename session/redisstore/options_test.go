package redisstore

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"
)

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string // in the error
	}{
		{"nothing", Options{}, "none of URL, SentinelAddrs and ClusterAddrs"},
		{"URL and Sentinel", Options{URL: "redis://h", SentinelAddrs: []string{"s:26379"}, MasterName: "m"}, "URL and SentinelAddrs"},
		{"URL and Cluster", Options{URL: "redis://h", ClusterAddrs: []string{"c:6379"}}, "URL and ClusterAddrs"},
		{"Sentinel and Cluster", Options{SentinelAddrs: []string{"s:26379"}, MasterName: "m", ClusterAddrs: []string{"c:6379"}}, "SentinelAddrs and ClusterAddrs"},
		{"Sentinel without MasterName", Options{SentinelAddrs: []string{"s:26379"}}, "MasterName is not"},
		{"MasterName without Sentinel", Options{MasterName: "m"}, "SentinelAddrs is not"},
		{"bad URL", Options{URL: "http://h"}, "URL"},
		{"Cluster with DB", Options{ClusterAddrs: []string{"c:6379"}, DB: 1}, "DB"},
		{"negative DB", Options{URL: "redis://h", DB: -1}, "DB"},
		{"SentinelPassword without Sentinel", Options{URL: "redis://h", SentinelPassword: "x"}, "SentinelPassword"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.opts)
			if err == nil {
				_ = s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestUniversalOptions(t *testing.T) {
	tlsConf := &tls.Config{ServerName: "explicit", MinVersion: tls.VersionTLS13}
	defaults := redis.UniversalOptions{
		DialTimeout:           2 * time.Second,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
		ContextTimeoutEnabled: true,
		DialerRetries:         1,
	}
	with := func(f func(*redis.UniversalOptions)) redis.UniversalOptions {
		o := defaults
		f(&o)
		return o
	}
	tests := []struct {
		name string
		opts Options
		want redis.UniversalOptions
	}{{
		name: "URL",
		opts: Options{URL: "redis://u:p@redis.example:6380/3"},
		want: with(func(o *redis.UniversalOptions) {
			o.Addrs, o.Username, o.Password, o.DB = []string{"redis.example:6380"}, "u", "p", 3
		}),
	}, {
		name: "URL with overrides",
		opts: Options{
			URL: "redis://u:p@redis.example/3", Username: "u2", Password: "p2", DB: 5, TLS: tlsConf,
			DialTimeout: time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 4 * time.Second, PoolSize: 7,
		},
		want: with(func(o *redis.UniversalOptions) {
			o.Addrs, o.Username, o.Password, o.DB, o.TLSConfig = []string{"redis.example:6379"}, "u2", "p2", 5, tlsConf
			o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolSize = time.Second, 3*time.Second, 4*time.Second, 7
		}),
	}, {
		name: "Sentinel",
		opts: Options{SentinelAddrs: []string{"s1:26379", "s2:26379"}, MasterName: "m", Password: "p", SentinelPassword: "sp", DB: 2},
		want: with(func(o *redis.UniversalOptions) {
			o.Addrs, o.MasterName, o.Password, o.SentinelPassword, o.DB = []string{"s1:26379", "s2:26379"}, "m", "p", "sp", 2
		}),
	}, {
		name: "Cluster with one seed",
		opts: Options{ClusterAddrs: []string{"c1:6379"}, Username: "u", Password: "p"},
		want: with(func(o *redis.UniversalOptions) {
			o.Addrs, o.IsClusterMode, o.Username, o.Password = []string{"c1:6379"}, true, "u", "p"
		}),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := universalOptions(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, *got, cmpopts.IgnoreUnexported(redis.UniversalOptions{}, tls.Config{}),
				cmp.Comparer(func(a, b *tls.Config) bool { return a == b })); diff != "" {
				t.Errorf("UniversalOptions (-want +got):\n%s", diff)
			}
		})
	}

	// A rediss:// URL brings its own TLS configuration.
	got, err := universalOptions(Options{URL: "rediss://redis.example"})
	if err != nil {
		t.Fatal(err)
	}
	if got.TLSConfig == nil || got.TLSConfig.ServerName != "redis.example" {
		t.Errorf("rediss:// TLSConfig = %+v, want ServerName redis.example", got.TLSConfig)
	}
}

func TestNewClientKind(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		cluster bool
	}{
		{"URL", Options{URL: "redis://127.0.0.1:1"}, false},
		{"Sentinel", Options{SentinelAddrs: []string{"127.0.0.1:1"}, MasterName: "m"}, false},
		{"Cluster with one seed", Options{ClusterAddrs: []string{"127.0.0.1:1"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, cluster := s.Client().(*redis.ClusterClient)
			if cluster != tt.cluster {
				t.Errorf("client %T, cluster = %v, want %v", s.Client(), cluster, tt.cluster)
			}
			if s.prefix != DefaultKeyPrefix || s.channel != DefaultKeyPrefix+"invalidate" {
				t.Errorf("prefix %q, channel %q; want the defaults", s.prefix, s.channel)
			}
		})
	}
}
