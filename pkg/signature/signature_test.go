package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

const secret = "s3cret-of-16-bytes"

var now = time.Unix(1_700_000_000, 0)

// independent computes HMAC-SHA256(secret, s) in lowercase hex, as the openssl recipe of
// docs/triggers.md does.
func independent(s string) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(s))
	return "sha256=" + hex.EncodeToString(h.Sum(nil))
}

func TestCanonicalQuery(t *testing.T) {
	tests := []struct {
		name  string
		query map[string][]string
		want  string
	}{
		{"no query is empty", nil, ""},
		{"a comma is percent-encoded", map[string][]string{"appids": {"wx1,wx2"}}, "appids=wx1%2Cwx2"},
		{"names then values are sorted, repeats kept", map[string][]string{"b": {"2", "1"}, "a": {"z"}}, "a=z&b=1&b=2"},
		{"unreserved characters are kept, others escaped upper case", map[string][]string{"k": {"a-._~ /+é"}}, "k=a-._~%20%2F%2B%C3%A9"},
		{"an empty value is written name=", map[string][]string{"flag": {""}}, "flag="},
		{"an empty value list adds nothing", map[string][]string{"source_type": {}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanonicalQuery(tt.query); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVerifyRequest(t *testing.T) {
	body := []byte(`{"env":"e1","appids":["wx0123456789abcdef"]}`)
	share := Request{Method: "POST", Route: "/share", Body: body}
	good := SignRequest(secret, now.Unix(), share)
	if want := independent("1700000000\nPOST\n/share\n\n" + string(body)); good != want {
		t.Fatalf("SignRequest = %s, want %s", good, want)
	}
	get := Request{Method: "GET", Route: "/bindings", Query: map[string][]string{"appids": {"wx1,wx2"}}}
	if got, want := SignRequest(secret, now.Unix(), get), independent("1700000000\nGET\n/bindings\nappids=wx1%2Cwx2\n"); got != want {
		t.Fatalf("GET signature = %s, want %s", got, want)
	}

	tests := []struct {
		name      string
		timestamp string
		sig       string
		req       Request
		ok        bool
	}{
		{"a fresh correct signature passes", "1700000000", good, share, true},
		{"a lower-case method is the same request", "1700000000", good, Request{Method: "post", Route: "/share", Body: body}, true},
		{"the signature of /share is refused on /unshare", "1700000000", good, Request{Method: "POST", Route: "/unshare", Body: body}, false},
		{"another method is refused", "1700000000", good, Request{Method: "GET", Route: "/share", Body: body}, false},
		{"another query is refused", "1700000000", SignRequest(secret, now.Unix(), get), Request{Method: "GET", Route: "/bindings",
			Query: map[string][]string{"appids": {"wx3"}}}, false},
		{"a changed body is refused", "1700000000", good, Request{Method: "POST", Route: "/share", Body: []byte(`{}`)}, false},
		{"upper-case hex is refused", "1700000000", "sha256=" + strings.ToUpper(good[7:]), share, false},
		{"a missing scheme is refused", "1700000000", good[7:], share, false},
		{"a short signature is refused", "1700000000", good[:20], share, false},
		{"a non-numeric timestamp is refused", "now", good, share, false},
		{"an empty signature is refused", "1700000000", "", share, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := VerifyRequest(secret, tc.timestamp, tc.sig, tc.req, now); (err == nil) != tc.ok {
				t.Fatalf("VerifyRequest() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	t.Run("timestamps outside the 300 s window are refused", func(t *testing.T) {
		for skew, ok := range map[time.Duration]bool{301 * time.Second: false, -301 * time.Second: false, 300 * time.Second: true, -300 * time.Second: true} {
			if err := VerifyRequest(secret, "1700000000", good, share, now.Add(skew)); (err == nil) != ok {
				t.Errorf("skew %v: %v", skew, err)
			}
		}
	})
}

func TestEachFailureNamesItsReasonAndWrapsErrInvalid(t *testing.T) {
	body := []byte(`{}`)
	req := Request{Method: "POST", Route: "/share", Body: body}
	good := SignRequest(secret, now.Unix(), req)
	tests := []struct {
		name, timestamp, sig string
		want                 error
	}{
		{"no timestamp", "", good, ErrMissing},
		{"no signature", "1700000000", " ", ErrMissing},
		{"a timestamp that is no number", "yesterday", good, ErrMalformedTime},
		{"a timestamp out of the window", "1699999000", good, ErrExpired},
		{"upper-case hex", "1700000000", "sha256=" + strings.ToUpper(good[7:]), ErrMalformedMAC},
		{"another secret's signature", "1700000000", SignRequest("another-secret-of-16b", now.Unix(), req), ErrSignatureInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyRequest(secret, tc.timestamp, tc.sig, req, now)
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want %v (wrapping ErrInvalid)", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), good[7:]) {
				t.Fatalf("the reason %q shows the secret or the signature", err)
			}
		})
	}
	if want := "invalid signature: timestamp more than " + Window.String() + " away from now"; ErrExpired.Error() != want {
		t.Errorf("ErrExpired reads %q, want %q", ErrExpired, want)
	}
}

func TestNotificationsSignTimestampDotBody(t *testing.T) {
	body := []byte(`{"action":"share","links":[]}`)
	sig := Sign(secret, now.Unix(), body)
	if want := independent("1700000000." + string(body)); sig != want {
		t.Fatalf("Sign = %s, want %s", sig, want)
	}
	if err := Verify(secret, "1700000000", sig, body, now); err != nil {
		t.Fatal(err)
	}
	if err := Verify(secret, "1700000000", sig, []byte("{}"), now); err == nil {
		t.Fatal("a changed body passed")
	}
}

func FuzzVerifyRequest(f *testing.F) {
	f.Add("1700000000", "sha256=00", "POST", "/share", "appids", "wx1,wx2", []byte("{}"))
	f.Fuzz(func(t *testing.T, ts, sig, method, route, name, value string, body []byte) {
		r := Request{Method: method, Route: route, Query: map[string][]string{name: {value}}, Body: body}
		_ = VerifyRequest(secret, ts, sig, r, now)
		if err := VerifyRequest(secret, "1700000000", SignRequest(secret, now.Unix(), r), r, now); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
	})
}
