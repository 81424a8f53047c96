package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	const secret = "s3cret"
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"env":"e1","appids":["wx0123456789abcdef"]}`)
	good := Sign(secret, now.Unix(), body)

	// An independent computation of the contract's formula.
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte("1700000000." + string(body)))
	if want := "sha256=" + hex.EncodeToString(h.Sum(nil)); good != want {
		t.Fatalf("Sign = %s, want %s", good, want)
	}

	tests := []struct {
		name      string
		timestamp string
		sig       string
		body      []byte
		ok        bool
	}{
		{"a fresh correct signature passes", "1700000000", good, body, true},
		{"an upper-case hex signature passes", "1700000000", "sha256=" + upper(good[7:]), body, true},
		{"a changed body fails", "1700000000", good, []byte(`{}`), false},
		{"a missing scheme fails", "1700000000", good[7:], body, false},
		{"a non-hex signature fails", "1700000000", "sha256=zz", body, false},
		{"a non-numeric timestamp fails", "now", good, body, false},
		{"an empty signature fails", "1700000000", "", body, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(secret, tc.timestamp, tc.sig, tc.body, now)
			if (err == nil) != tc.ok {
				t.Fatalf("Verify() = %v, want ok=%v", err, tc.ok)
			}
		})
	}

	t.Run("timestamps outside the 300 s window fail", func(t *testing.T) {
		for _, skew := range []time.Duration{301 * time.Second, -301 * time.Second} {
			if err := Verify(secret, "1700000000", good, body, now.Add(skew)); err == nil {
				t.Errorf("skew %v accepted", skew)
			}
		}
		for _, skew := range []time.Duration{300 * time.Second, -300 * time.Second} {
			if err := Verify(secret, "1700000000", good, body, now.Add(skew)); err != nil {
				t.Errorf("skew %v rejected: %v", skew, err)
			}
		}
	})
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func FuzzVerify(f *testing.F) {
	f.Add("s", "1700000000", "sha256=00", []byte("{}"))
	f.Fuzz(func(t *testing.T, secret, ts, sig string, body []byte) {
		now := time.Unix(1_700_000_000, 0)
		_ = Verify(secret, ts, sig, body, now)
		if err := Verify(secret, "1700000000", Sign(secret, now.Unix(), body), body, now); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
	})
}
