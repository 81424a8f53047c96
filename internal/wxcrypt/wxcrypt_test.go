package wxcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"maps"
	"strings"
	"testing"
)

const (
	testToken  = "t0ken-never-in-errors"
	testAppID  = "wxc0ffee0c0ffee0ab"
	testKey    = "Pq3RbT7vXz9aCe1gIk5mOs7uWy0bDf2hJl4nPr6tVx8" // 43 characters
	oldKey     = "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo8Nn7Mm6L"
	testTS     = "1764547200"
	testNonce  = "726391045"
	ticketPush = "<xml><AppId><![CDATA[" + testAppID + "]]></AppId><CreateTime>1764547200</CreateTime>" +
		"<InfoType><![CDATA[component_verify_ticket]]></InfoType>" +
		"<ComponentVerifyTicket><![CDATA[ticket@@@secret-ticket-value]]></ComponentVerifyTicket></xml>"
)

func isSignature(err error) bool { return errors.Is(err, ErrSignature) }

// isBadRequest reports whether err is of the 400 class.
func isBadRequest(err error) bool {
	return (errors.Is(err, ErrMalformed) || errors.Is(err, ErrAppID)) && !errors.Is(err, ErrSignature)
}

func newCrypto(t testing.TB, cfg Config) *Crypto {
	t.Helper()
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	if cfg.EncodingAESKey == "" {
		cfg.EncodingAESKey = testKey
	}
	if cfg.ComponentAppID == "" {
		cfg.ComponentAppID = testAppID
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNew(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		field string // named in the error; "" = accepted
	}{
		{"a valid configuration is accepted", Config{Token: "t", EncodingAESKey: testKey, ComponentAppID: "wx1"}, ""},
		{"a previous key is accepted", Config{Token: "t", EncodingAESKey: testKey, PreviousEncodingAESKey: oldKey, ComponentAppID: "wx1"}, ""},
		{"Tencent's sample key is accepted though its last bits are not zero", Config{Token: "t", EncodingAESKey: publishedKey, ComponentAppID: "wx1"}, ""},
		{"an empty token is refused", Config{EncodingAESKey: testKey, ComponentAppID: "wx1"}, "Token"},
		{"an empty appid is refused", Config{Token: "t", EncodingAESKey: testKey}, "ComponentAppID"},
		{"a 42-character key is refused", Config{Token: "t", EncodingAESKey: testKey[:42], ComponentAppID: "wx1"}, "EncodingAESKey"},
		{"a 44-character key is refused", Config{Token: "t", EncodingAESKey: testKey + "A", ComponentAppID: "wx1"}, "EncodingAESKey"},
		{"a key that is not base64 is refused", Config{Token: "t", EncodingAESKey: "!" + testKey[1:], ComponentAppID: "wx1"}, "EncodingAESKey"},
		{"a bad previous key is refused", Config{Token: "t", EncodingAESKey: testKey, PreviousEncodingAESKey: "short", ComponentAppID: "wx1"}, "PreviousEncodingAESKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.field+" ") {
				t.Fatalf("err = %v, want ErrConfig naming %s", err, tt.field)
			}
			for _, secret := range []string{tt.cfg.EncodingAESKey, tt.cfg.PreviousEncodingAESKey} {
				if len(secret) > 4 && strings.Contains(err.Error(), secret) {
					t.Fatalf("the key is in the error: %v", err)
				}
			}
		})
	}
}

func TestSignature(t *testing.T) {
	t.Run("it sorts the four strings before hashing", func(t *testing.T) {
		a := Signature("b", "a", "d", "c")
		if b := Signature("d", "c", "b", "a"); a != b {
			t.Fatalf("%s != %s", a, b)
		}
	})
	t.Run("it is lowercase hex SHA-1", func(t *testing.T) {
		// sha1("abcd")
		if got := Signature("a", "b", "c", "d"); got != "81fe8bfe87576c3ecb22426f8e57847382917acf" {
			t.Fatalf("got %s", got)
		}
	})
}

func TestRoundTrip(t *testing.T) {
	t.Run("a sealed message opens", func(t *testing.T) {
		c := newCrypto(t, Config{})
		body, sig, err := c.Seal([]byte(ticketPush), testTS, testNonce)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := c.Open(testTS, testNonce, sig, body)
		if err != nil || string(msg) != ticketPush {
			t.Fatalf("Open = %q, %v", msg, err)
		}
	})
	t.Run("the body is WeChat's envelope with CDATA", func(t *testing.T) {
		body, _, _ := newCrypto(t, Config{}).Seal([]byte("x"), testTS, testNonce)
		if !strings.HasPrefix(string(body), "<xml><AppId><![CDATA["+testAppID+"]]></AppId><Encrypt><![CDATA[") {
			t.Fatalf("%s", body)
		}
	})
	t.Run("two seals of one message differ by their random prefix", func(t *testing.T) {
		c := newCrypto(t, Config{})
		a, _, _ := c.Seal([]byte("x"), testTS, testNonce)
		b, _, _ := c.Seal([]byte("x"), testTS, testNonce)
		if bytes.Equal(a, b) {
			t.Fatal("equal")
		}
	})
	t.Run("messages of every length around the pad block open", func(t *testing.T) {
		c := newCrypto(t, Config{})
		for n := range 70 {
			msg := bytes.Repeat([]byte("m"), n)
			body, sig, _ := c.Seal(msg, testTS, testNonce)
			got, err := c.Open(testTS, testNonce, sig, body)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("length %d: %q, %v", n, got, err)
			}
		}
	})
	t.Run("a message sealed with the previous key opens after rotation", func(t *testing.T) {
		before := newCrypto(t, Config{EncodingAESKey: oldKey})
		after := newCrypto(t, Config{EncodingAESKey: testKey, PreviousEncodingAESKey: oldKey})
		body, sig, _ := before.Seal([]byte(ticketPush), testTS, testNonce)
		if msg, err := after.Open(testTS, testNonce, sig, body); err != nil || string(msg) != ticketPush {
			t.Fatalf("Open = %q, %v", msg, err)
		}
	})
	t.Run("a message sealed with the new key opens after rotation", func(t *testing.T) {
		after := newCrypto(t, Config{EncodingAESKey: testKey, PreviousEncodingAESKey: oldKey})
		body, sig, _ := after.Seal([]byte(ticketPush), testTS, testNonce)
		if msg, err := after.Open(testTS, testNonce, sig, body); err != nil || string(msg) != ticketPush {
			t.Fatalf("Open = %q, %v", msg, err)
		}
	})
	t.Run("a message sealed with an unknown key does not decrypt", func(t *testing.T) {
		other := newCrypto(t, Config{EncodingAESKey: oldKey})
		body, sig, _ := other.Seal([]byte(ticketPush), testTS, testNonce)
		_, err := newCrypto(t, Config{}).Open(testTS, testNonce, sig, body)
		if !isBadRequest(err) {
			t.Fatalf("err = %v, want the 400 class", err)
		}
	})
	t.Run("a message of another platform is ErrAppID", func(t *testing.T) {
		other := newCrypto(t, Config{ComponentAppID: "wx0ther0ther0ther0"})
		body, sig, _ := other.Seal([]byte(ticketPush), testTS, testNonce)
		if _, err := newCrypto(t, Config{}).Open(testTS, testNonce, sig, body); !errors.Is(err, ErrAppID) {
			t.Fatalf("err = %v, want ErrAppID", err)
		}
	})
}

// rawCiphertext encrypts plain (whole AES blocks, no padding added) with key, so that tests
// can craft any padding and length field.
func rawCiphertext(t testing.TB, key string, plain []byte) string {
	t.Helper()
	k, err := base64.StdEncoding.DecodeString(key + "=")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(k)
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, k[:16]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

func decryptRaw(t testing.TB, key, ciphertext []byte) []byte {
	t.Helper()
	block, _ := aes.NewCipher(key)
	out := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(out, ciphertext)
	return out
}

// plaintext builds random | length | message | appid and pads it with pad bytes of value
// padByte; lengthField overrides the length when not negative.
func plaintext(message, appID string, lengthField int, padByte byte, pad int) []byte {
	var b bytes.Buffer
	b.WriteString("0123456789abcdef")
	n := uint32(len(message))
	if lengthField >= 0 {
		n = uint32(lengthField)
	}
	b.Write(binary.BigEndian.AppendUint32(nil, n))
	b.WriteString(message)
	b.WriteString(appID)
	b.Write(bytes.Repeat([]byte{padByte}, pad))
	return b.Bytes()
}

// aligned pads p with zero bytes before its last byte, up to whole 32-byte blocks.
func aligned(p []byte, last byte) []byte {
	for (len(p)+1)%32 != 0 {
		p = append(p, 0)
	}
	return append(p, last)
}

// badCiphertexts are Encrypt values that must be refused as 400 when correctly signed.
func badCiphertexts(t testing.TB) map[string]string {
	good := plaintext("<xml/>", testAppID, -1, 0, 0)
	valid := rawCiphertext(t, testKey, aligned(good, byte(32-len(good)%32)))
	raw, _ := base64.StdEncoding.DecodeString(valid)
	return map[string]string{
		"bad base64":                          "%%%not base64%%%",
		"pad 0":                               rawCiphertext(t, testKey, aligned(good, 0)),
		"pad 33":                              rawCiphertext(t, testKey, aligned(plaintext("<xml/>", testAppID, -1, 0, 40), 33)),
		"pad 255":                             rawCiphertext(t, testKey, aligned(good, 255)),
		"a length field beyond the plaintext": rawCiphertext(t, testKey, aligned(plaintext("<xml/>", testAppID, 1000, 0, 0), 6)),
		"a length field of 2^32-1":            rawCiphertext(t, testKey, aligned(plaintext("<xml/>", testAppID, 1<<32-1, 0, 0), 6)),
		"a wrong appid":                       rawCiphertext(t, testKey, aligned(plaintext("<xml/>", "wxffffffffffffffff", -1, 0, 0), 6)),
		"no appid":                            rawCiphertext(t, testKey, aligned(plaintext("<xml/>", "", -1, 0, 0), 6)),
		"a plaintext shorter than 20 bytes":   rawCiphertext(t, testKey, aligned([]byte("short"), 20)),
		"a truncated block":                   base64.StdEncoding.EncodeToString(raw[:len(raw)-16]),
		"a ciphertext not a multiple of 16":   base64.StdEncoding.EncodeToString(raw[:len(raw)-5]),
		"one byte":                            base64.StdEncoding.EncodeToString(raw[:1]),
	}
}

func TestOpenRefusesBadCiphertexts(t *testing.T) {
	c := newCrypto(t, Config{PreviousEncodingAESKey: oldKey})
	for name, encrypt := range badCiphertexts(t) {
		t.Run("a correctly signed push with "+name+" is a bad request", func(t *testing.T) {
			body := "<xml><AppId>" + testAppID + "</AppId><Encrypt>" + encrypt + "</Encrypt></xml>"
			_, err := c.Open(testTS, testNonce, Signature(testToken, testTS, testNonce, encrypt), []byte(body))
			if !isBadRequest(err) {
				t.Fatalf("err = %v, want the 400 class", err)
			}
		})
	}
}

func TestOpenRefusesBadBodies(t *testing.T) {
	c := newCrypto(t, Config{})
	sealed, sig, _ := c.Seal([]byte(ticketPush), testTS, testNonce)
	tests := []struct {
		name   string
		ts     string
		nonce  string
		sig    string
		body   string
		wantIs error
	}{
		{"a body without Encrypt is malformed", testTS, testNonce, sig, "<xml><AppId>x</AppId></xml>", ErrMalformed},
		{"an empty Encrypt is malformed", testTS, testNonce, sig, "<xml><Encrypt></Encrypt></xml>", ErrMalformed},
		{"an empty body is malformed", testTS, testNonce, sig, "", ErrMalformed},
		{"JSON is malformed", testTS, testNonce, sig, `{"Encrypt":"x"}`, ErrMalformed},
		{"another root element is malformed", testTS, testNonce, sig, "<root><Encrypt>x</Encrypt></root>", ErrMalformed},
		{"unclosed XML is malformed", testTS, testNonce, sig, "<xml><Encrypt>abc", ErrMalformed},
		{"a wrong signature is ErrSignature", testTS, testNonce, strings.Repeat("0", 40), string(sealed), ErrSignature},
		{"an empty signature is ErrSignature", testTS, testNonce, "", string(sealed), ErrSignature},
		{"an uppercase signature is ErrSignature", testTS, testNonce, strings.ToUpper(sig), string(sealed), ErrSignature},
		{"another timestamp is ErrSignature", "1764547201", testNonce, sig, string(sealed), ErrSignature},
		{"another nonce is ErrSignature", testTS, "1", sig, string(sealed), ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Open(tt.ts, tt.nonce, tt.sig, []byte(tt.body))
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("err = %v, want %v", err, tt.wantIs)
			}
		})
	}
	t.Run("other elements such as ToUserName are ignored", func(t *testing.T) {
		enc := strings.TrimSuffix(strings.TrimPrefix(string(sealed), "<xml><AppId><![CDATA["+testAppID+"]]></AppId><Encrypt><![CDATA["), "]]></Encrypt></xml>")
		body := "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Extra>1</Extra><Encrypt>" + enc + "</Encrypt></xml>"
		if msg, err := c.Open(testTS, testNonce, sig, []byte(body)); err != nil || string(msg) != ticketPush {
			t.Fatalf("Open = %q, %v", msg, err)
		}
	})
}

func TestErrorsNeverCarrySecrets(t *testing.T) {
	c := newCrypto(t, Config{PreviousEncodingAESKey: oldKey})
	other := newCrypto(t, Config{ComponentAppID: "wx0ther0ther0ther0"})
	wrongApp, sig, _ := other.Seal([]byte(ticketPush), testTS, testNonce)
	var errs []error
	_, err := c.Open(testTS, testNonce, sig, wrongApp)
	errs = append(errs, err)
	_, err = c.Open(testTS, testNonce, "bad", wrongApp)
	errs = append(errs, err)
	for _, encrypt := range badCiphertexts(t) {
		_, err := c.Open(testTS, testNonce, Signature(testToken, testTS, testNonce, encrypt), []byte("<xml><Encrypt>"+encrypt+"</Encrypt></xml>"))
		errs = append(errs, err)
	}
	_, err = ParseEvent([]byte("<xml><InfoType>x</InfoType><CreateTime>secret-ticket-value</CreateTime></xml>"))
	errs = append(errs, err)
	_, err = ParseEvent([]byte("<xml><secret-ticket-value>"))
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("no error")
		}
		for _, secret := range []string{testToken, testKey, oldKey, "secret-ticket-value", "ticket@@@"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%q in %q", secret, err)
			}
		}
	}
}

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name    string
		xml     string
		want    Event
		wantErr bool
	}{
		{"an authorized event fills the authorization fields",
			"<xml><AppId><![CDATA[wxc]]></AppId><CreateTime>1413192760</CreateTime><InfoType><![CDATA[authorized]]></InfoType>" +
				"<AuthorizerAppid><![CDATA[wxa]]></AuthorizerAppid><AuthorizationCode><![CDATA[code]]></AuthorizationCode>" +
				"<AuthorizationCodeExpiredTime>1413196360</AuthorizationCodeExpiredTime><PreAuthCode><![CDATA[pre]]></PreAuthCode></xml>",
			Event{AppID: "wxc", CreateTime: 1413192760, InfoType: InfoAuthorized, AuthorizerAppID: "wxa",
				AuthorizationCode: "code", AuthorizationCodeExpiredTime: 1413196360, PreAuthCode: "pre"}, false},
		{"the documented ticket example with plain text parses",
			"<xml>\n<AppId>some_appid</AppId>\n<CreateTime>1413192605</CreateTime>\n<InfoType>component_verify_ticket</InfoType>\n<ComponentVerifyTicket>some_verify_ticket</ComponentVerifyTicket>\n</xml>",
			Event{AppID: "some_appid", CreateTime: 1413192605, InfoType: InfoComponentVerifyTicket, ComponentVerifyTicket: "some_verify_ticket"}, false},
		{"spaces around a number are accepted", "<xml><InfoType>x</InfoType><CreateTime> 12 </CreateTime></xml>",
			Event{InfoType: "x", CreateTime: 12}, false},
		{"an unknown InfoType is returned as is", "<xml><InfoType>notify_third_fasteregister</InfoType></xml>",
			Event{InfoType: "notify_third_fasteregister"}, false},
		{"no InfoType is malformed", "<xml><AppId>wx</AppId></xml>", Event{}, true},
		{"a CreateTime that is not a number is malformed", "<xml><InfoType>x</InfoType><CreateTime>soon</CreateTime></xml>", Event{}, true},
		{"another root is malformed", "<event><InfoType>x</InfoType></event>", Event{}, true},
		{"empty input is malformed", "", Event{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEvent([]byte(tt.xml))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, tt.want)
			}
		})
	}
}

func TestReadFlatKeepsToTheFlatForm(t *testing.T) {
	for _, tt := range []struct {
		name, doc string
		want      map[string]string // nil: ErrMalformed
	}{
		{"text and CDATA fields, around white space", "<?xml version=\"1.0\"?>\n<xml>\r\n <A>x&amp;y&#x41;</A> <B><![CDATA[<b>]]></B>\n</xml>\n",
			map[string]string{"A": "x&yA", "B": "<b>"}},
		{"an empty field", "<xml><A></A><B/></xml>", map[string]string{"A": "", "B": ""}},
		{"a nested element", "<xml><Video><MediaId>1</MediaId></Video></xml>", nil},
		{"an attribute", "<xml><A x=\"1\">v</A></xml>", nil},
		{"an attribute of the root", "<xml a=\"1\"><A>v</A></xml>", nil},
		{"a field given twice", "<xml><A>1</A><A>2</A></xml>", nil},
		{"a field given twice, empty first", "<xml><A></A><A>2</A></xml>", nil},
		{"a prefixed field", "<xml><p:A>1</p:A></xml>", nil},
		{"a comment", "<xml><!-- c --><A>1</A></xml>", nil},
		{"a DOCTYPE", "<!DOCTYPE xml [<!ENTITY e \"x\">]><xml><A>&e;</A></xml>", nil},
		{"an unknown entity", "<xml><A>&nbsp;</A></xml>", nil},
		{"text between fields", "<xml>t<A>1</A></xml>", nil},
		{"a second document", "<xml><A>1</A></xml><xml></xml>", nil},
		{"text after the document", "<xml><A>1</A></xml>x", nil},
		{"another root", "<root><A>1</A></root>", nil},
		{"no document", " ", nil},
		{"a processing instruction in the document", "<xml><?php x?><A>1</A></xml>", nil},
		{"another encoding", "<?xml version=\"1.0\" encoding=\"GBK\"?><xml><A>1</A></xml>", nil},
		{"a NUL", "<xml><A>\x00</A></xml>", nil},
		{"invalid UTF-8", "<xml><A>\xff</A></xml>", nil},
		{"a document over 64 KiB", "<xml><A>" + strings.Repeat("a", 64<<10) + "</A></xml>", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readFlat([]byte(tt.doc))
			if tt.want == nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("readFlat = %q, %v; want ErrMalformed", got, err)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Fatalf("readFlat = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestOpenEventComparesTheMessagesAppID(t *testing.T) {
	c := newCrypto(t, Config{})
	for _, tt := range []struct {
		name, appid string
		ok          bool
	}{
		{"the platform's appid opens", "<AppId><![CDATA[" + testAppID + "]]></AppId>", true},
		{"another platform's appid is ErrAppID", "<AppId><![CDATA[wx0ther0ther0ther0]]></AppId>", false},
		{"an empty AppId is ErrAppID", "<AppId></AppId>", false},
		{"no AppId is ErrAppID", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The trailing appid is the platform's in every case: only the element differs.
			body, sig, _ := c.Seal([]byte("<xml>"+tt.appid+"<CreateTime>1764547200</CreateTime><InfoType>unauthorized</InfoType></xml>"), testTS, testNonce)
			ev, err := c.OpenEvent(testTS, testNonce, sig, body)
			if tt.ok != (err == nil) || !tt.ok && !errors.Is(err, ErrAppID) {
				t.Fatalf("OpenEvent = %+v, %v", ev, err)
			}
		})
	}
	t.Run("Verify checks the signature alone", func(t *testing.T) {
		other := newCrypto(t, Config{ComponentAppID: "wx0ther0ther0ther0"})
		body, sig, _ := other.Seal([]byte(ticketPush), testTS, testNonce) // signed with the same token
		if err := c.Verify(testTS, testNonce, sig, body); err != nil {
			t.Fatalf("Verify = %v", err)
		}
		if err := c.Verify(testTS, testNonce, strings.Repeat("0", 40), body); !errors.Is(err, ErrSignature) {
			t.Fatalf("Verify of a bad signature = %v", err)
		}
	})
}
