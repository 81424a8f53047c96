package token

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/store/awsstore"
	"github.com/envshare/envshare/internal/store/storetest"
	"github.com/envshare/envshare/internal/store/tencentstore"
)

const benchToken = "bench-token-0123456789"

// BenchmarkColdStart measures what an instance's first invocation pays for its token, per
// mode: opening the store, a fresh Source and its first Token, which reads the secret (for
// the cloud stores: credentials from the environment, signing, one round trip on 127.0.0.1
// to the fakes, which check the signature, on a new connection). A real region adds its
// network latency on top.
func BenchmarkColdStart(b *testing.B) {
	b.Run("env", func(b *testing.B) {
		benchColdStart(b, "ENVSHARE_COMPONENT_ACCESS_TOKEN", func() (store.Store, error) { return store.Value(benchToken), nil })
	})

	b.Run("file", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "token")
		if err := os.WriteFile(path, []byte(benchToken+"\n"), 0o600); err != nil {
			b.Fatal(err)
		}
		benchColdStart(b, path, func() (store.Store, error) { return store.File{}, nil })
	})

	aws := func(b *testing.B) *storetest.AWS {
		f := storetest.NewAWS(b)
		f.SetEnv(b)
		return f
	}
	b.Run("aws-secretsmanager", func(b *testing.B) {
		f := aws(b)
		f.SetSecret("envshare/token", benchToken)
		benchColdStart(b, "envshare/token", func() (store.Store, error) {
			return awsstore.NewSecretsManager(store.WithEndpoint(f.URL), store.WithHTTPClient(newConnection()))
		})
	})
	b.Run("aws-ssm", func(b *testing.B) {
		f := aws(b)
		f.SetParameter("/envshare/token", benchToken)
		benchColdStart(b, "/envshare/token", func() (store.Store, error) {
			return awsstore.NewParameters(store.WithEndpoint(f.URL), store.WithHTTPClient(newConnection()))
		})
	})

	for _, tc := range []struct {
		name string
		opts []tencentstore.Option
	}{
		{"tencent-ssm", nil}, // the newest version: ListSecretVersionIds, then GetSecretValue
		{"tencent-ssm-pinned-version", []tencentstore.Option{tencentstore.WithVersionID("v1")}}, // GetSecretValue only
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := storetest.NewTencent(b)
			f.SetEnv(b)
			f.SetSecret("envshare-token", "v1", benchToken)
			benchColdStart(b, "envshare-token", func() (store.Store, error) {
				return tencentstore.NewSSM(append(tc.opts, store.WithEndpoint(f.URL), store.WithHTTPClient(newConnection()))...)
			})
		})
	}
}

// newConnection is an HTTP client that keeps no connection: each cold start connects anew,
// as a new instance does.
func newConnection() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func benchColdStart(b *testing.B, id string, open func() (store.Store, error)) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		st, err := open()
		if err != nil {
			b.Fatal(err)
		}
		s := NewSource(Config{Name: "bench", Credentials: st, CredentialsID: id, Logger: discard})
		if tok, err := s.Token(ctx); err != nil || tok != benchToken {
			b.Fatalf("Token() = %q, %v", tok, err)
		}
	}
}

// BenchmarkCachedToken measures Token once the token is cached: the cost on every WeChat call.
// It allocates nothing.
func BenchmarkCachedToken(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"bare-token", Config{Credentials: store.Value(benchToken)}},
		{"state-record", Config{State: &StateRecord{Store: store.Value(`{"component_access_token":"` + benchToken + `"}`)}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tc.cfg.Logger = discard
			s := NewSource(tc.cfg)
			ctx := context.Background()
			if _, err := s.Token(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Token(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
