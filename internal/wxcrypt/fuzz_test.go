package wxcrypt

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
)

// FuzzOpen: whatever the Encrypt value, a correctly signed push either opens or is refused
// with an error of the 400 class, never ErrSignature; whatever the raw body and signature,
// Open answers one of the sentinel errors. It never panics, and no error carries a secret.
func FuzzOpen(f *testing.F) {
	c := newCrypto(f, Config{PreviousEncodingAESKey: oldKey})
	sealed, _, _ := c.Seal([]byte(ticketPush), testTS, testNonce)
	var env envelope
	if err := xml.Unmarshal(sealed, &env); err != nil {
		f.Fatal(err)
	}
	f.Add(env.Encrypt.Text, sealed, "")
	for _, encrypt := range badCiphertexts(f) {
		f.Add(encrypt, []byte("<xml><Encrypt>"+encrypt+"</Encrypt></xml>"), "0000")
	}
	f.Add("", []byte(""), "")
	f.Add("=", []byte("<xml><Encrypt><![CDATA[]]></Encrypt></xml>"), Signature(testToken, testTS, testNonce, ""))
	f.Add("AAAA", []byte("<xml><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><Encrypt>&e;</Encrypt></xml>"), "x")

	f.Fuzz(func(t *testing.T, encrypt string, body []byte, signature string) {
		checkText := func(err error) {
			for _, secret := range []string{testToken, testKey, oldKey, "secret-ticket-value"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("%q in %q", secret, err)
				}
			}
		}
		// A correctly signed envelope around encrypt: signed over Encrypt as an XML
		// parser reads it back (XML turns \r into \n, for one).
		signed, err := xml.Marshal(envelope{AppID: cdata{testAppID}, Encrypt: cdata{encrypt}})
		if err != nil {
			t.Fatal(err)
		}
		var env envelope
		if xml.Unmarshal(signed, &env) == nil && env.Encrypt.Text != "" {
			msg, err := c.Open(testTS, testNonce, Signature(testToken, testTS, testNonce, env.Encrypt.Text), signed)
			switch {
			case err == nil && len(msg) > len(env.Encrypt.Text):
				t.Fatalf("a message longer than its ciphertext: %q", msg)
			case err != nil && !isBadRequest(err):
				t.Fatalf("a correctly signed push: err = %v, want the 400 class", err)
			case err != nil:
				checkText(err)
			}
		}
		// A raw body with any signature.
		_, err = c.Open(testTS, testNonce, signature, body)
		if err != nil {
			if !errors.Is(err, ErrSignature) && !isBadRequest(err) {
				t.Fatalf("err = %v, not a sentinel", err)
			}
			checkText(err)
		}
	})
}

func BenchmarkOpen(b *testing.B) {
	c := newCrypto(b, Config{PreviousEncodingAESKey: oldKey})
	body, sig, err := c.Seal([]byte(ticketPush), testTS, testNonce)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Open(testTS, testNonce, sig, body); err != nil {
			b.Fatal(err)
		}
	}
}
