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

// FuzzReadFlat: what readFlat accepts, encoding/xml reads the same way; and every flat
// document that encoding/xml writes, readFlat reads back.
func FuzzReadFlat(f *testing.F) {
	f.Add([]byte("<xml><AppId><![CDATA[wx1]]></AppId><Encrypt>a&amp;b&#x41;</Encrypt></xml>"), "v<&]]>")
	f.Add([]byte("<xml>\n<ToUserName><![CDATA[x]]></ToUserName>\n<Encrypt>abc</Encrypt>\n</xml>"), "")
	f.Add([]byte("<xml><Encrypt>1</Encrypt><Encrypt>2</Encrypt></xml>"), "é")
	f.Fuzz(func(t *testing.T, doc []byte, value string) {
		if fields, err := readFlat(doc); err == nil {
			var ref struct {
				XMLName xml.Name `xml:"xml"`
				Items   []struct {
					XMLName xml.Name
					Text    string `xml:",chardata"`
				} `xml:",any"`
			}
			if err := xml.Unmarshal(doc, &ref); err != nil {
				t.Fatalf("readFlat accepted %q, encoding/xml refuses it: %v", doc, err)
			}
			if len(ref.Items) != len(fields) {
				t.Fatalf("%q: readFlat has %d fields, encoding/xml %d", doc, len(fields), len(ref.Items))
			}
			for _, it := range ref.Items {
				if fields[it.XMLName.Local] != it.Text {
					t.Fatalf("%q: field %s is %q, encoding/xml reads %q", doc, it.XMLName.Local, fields[it.XMLName.Local], it.Text)
				}
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("err = %v", err)
		}
		// encoding/xml's own writing of a field, as text and as CDATA.
		for _, v := range []any{
			struct {
				XMLName xml.Name `xml:"xml"`
				V       string   `xml:"Encrypt"`
			}{V: value},
			envelope{Encrypt: cdata{value}},
		} {
			b, err := xml.Marshal(v)
			if err != nil {
				return
			}
			var back envelope
			if xml.Unmarshal(b, &back) != nil {
				continue
			}
			fields, err := readFlat(b)
			if err != nil {
				t.Fatalf("readFlat refuses encoding/xml's %q: %v", b, err)
			}
			if fields["Encrypt"] != back.Encrypt.Text {
				t.Fatalf("%q: readFlat reads %q, encoding/xml %q", b, fields["Encrypt"], back.Encrypt.Text)
			}
		}
	})
}

// FuzzOpenEvent: a correctly signed, well-formed event opens only when its own AppId element
// names the platform; any other AppId (absent, empty, another appid, the platform's with a
// difference) is ErrAppID, never an event to act on.
func FuzzOpenEvent(f *testing.F) {
	c := newCrypto(f, Config{})
	f.Add(testAppID)
	f.Add("")
	f.Add("wx0ther0ther0ther0")
	f.Add(testAppID + " ")
	f.Add(strings.ToUpper(testAppID))
	f.Fuzz(func(t *testing.T, appid string) {
		var text strings.Builder
		if xml.EscapeText(&text, []byte(appid)) != nil {
			return
		}
		msg := "<xml><AppId>" + text.String() + "</AppId><CreateTime>1764547200</CreateTime><InfoType>authorized</InfoType></xml>"
		if fields, err := readFlat([]byte(msg)); err != nil || fields["AppId"] != appid {
			return // not a value XML carries as is (control characters, \r)
		}
		body, sig, err := c.Seal([]byte(msg), testTS, testNonce)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := c.OpenEvent(testTS, testNonce, sig, body)
		switch {
		case appid == testAppID && (err != nil || ev.AppID != testAppID):
			t.Fatalf("the platform's own event: %+v, %v", ev, err)
		case appid != testAppID && !errors.Is(err, ErrAppID):
			t.Fatalf("AppId %q: err = %v, want ErrAppID", appid, err)
		}
	})
}
