package token

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/envshare/envshare/internal/config"
)

// BenchmarkColdStart measures the first Token call of a fresh Source, per mode, against the local
// fakes: what an instance's first invocation pays for its token (SDK set-up, credential
// resolution, signing, one round trip on 127.0.0.1). The network of a real region adds its
// latency on top.
func BenchmarkColdStart(b *testing.B) {
	b.Run("env", func(b *testing.B) {
		benchColdStart(b, config.Config{TokenMode: "env", ComponentAccessToken: "bench-token"})
	})

	b.Run("file", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "token")
		writeFile(b, path, "bench-token\n")
		benchColdStart(b, config.Config{TokenMode: "file", TokenFile: path})
	})

	for _, am := range awsModes {
		b.Run(am.mode, func(b *testing.B) {
			isolateAWS(b)
			fake := newAWSFake(b, am.service)
			fake.srv.Config.SetKeepAlivesEnabled(false) // no idle connections pile up across iterations
			fake.set(am.id, "bench-token")
			b.Setenv(am.endpointVar, fake.srv.URL)
			benchColdStart(b, config.Config{TokenMode: am.mode, TokenSecretID: am.id, Attempts: 3})
		})
	}

	for _, tc := range []struct{ name, version string }{
		{"tencent-ssm", ""},                  // newest version: ListSecretVersionIds, then GetSecretValue
		{"tencent-ssm-pinned-version", "v1"}, // GetSecretValue only
	} {
		b.Run(tc.name, func(b *testing.B) {
			isolateTencent(b)
			fake := newTencentFake(b)
			fake.srv.Config.SetKeepAlivesEnabled(false)
			fake.put(tcSecretName, "v1", "bench-token")
			benchColdStart(b, config.Config{TokenMode: "tencent-ssm", TokenSecretID: tcSecretName,
				TencentSSMEndpoint: fake.srv.URL, TencentSSMVersionID: tc.version, Attempts: 3})
		})
	}
}

func benchColdStart(b *testing.B, cfg config.Config) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, err := NewSource(cfg, nil, WithLogger(discard))
		if err != nil {
			b.Fatal(err)
		}
		if tok, err := s.Token(ctx); err != nil || tok != "bench-token" {
			b.Fatalf("Token() = %q, %v", tok, err)
		}
	}
}

// BenchmarkCachedToken measures Token once the token is cached: the cost on every WeChat call.
func BenchmarkCachedToken(b *testing.B) {
	s, err := NewSource(config.Config{TokenMode: "env", ComponentAccessToken: "bench-token"}, nil, WithLogger(discard))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Token(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
