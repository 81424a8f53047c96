package token

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/redact"
	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

// credsSource is a Source without a state record on a credentials secret holding value.
func credsSource(value string, iss Issuer, c *wxemu.Clock) (*Source, *memStore) {
	m := newMemStore("creds", value)
	return NewSource(Config{Name: `file "/run/creds"`, Credentials: m, CredentialsID: "creds", Issuer: iss,
		Now: c.Now, Logger: discard}), m
}

func TestSecretValueFormats(t *testing.T) {
	for _, tc := range []struct {
		name   string
		value  string
		want   string // the token served; "" for a minted one
		ticket string // the ticket minted with
	}{
		{"a bare token is used as is", "tok-123_ABC.xyz", "tok-123_ABC.xyz", ""},
		{"a file's final newline is ignored", "tok-123_ABC\n", "tok-123_ABC", ""},
		{"surrounding white space and a byte order mark are ignored", "\ufeff  tok-123_ABC \r\n", "tok-123_ABC", ""},
		{"JSON with component_access_token gives that token", `{"component_access_token": "tok-json-1"}`, "tok-json-1", ""},
		{"JSON with other fields beside the token gives the token", `{"component_access_token":"tok-json-1","note":"x"}`, "tok-json-1", ""},
		{"the token wins over credentials in the same JSON", `{"component_access_token":"tok-json-1","component_appid":"wx1","component_appsecret":"s3cret-s3cret","component_verify_ticket":"t1"}`, "tok-json-1", ""},
		{"JSON with the platform's credentials and a ticket is minted from", credsJSON(seedTicket), "", seedTicket},
		{"spaces around credential values are trimmed", `{"component_appid":" ` + testAppID + ` ","component_appsecret":" ` + testAppSecret + `\n","component_verify_ticket":" ` + seedTicket + ` "}`, "", seedTicket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iss := &fakeIssuer{}
			s, _ := credsSource(tc.value, iss, newClock())
			got, err := s.Token(t.Context())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tc.ticket == "" {
				if got != tc.want || iss.calls() != 0 {
					t.Errorf("Token() = %q after %d mints, want %q and no mint", got, iss.calls(), tc.want)
				}
				return
			}
			want := wechat.ComponentTokenRequest{ComponentAppID: testAppID, ComponentAppSecret: testAppSecret, ComponentVerifyTicket: tc.ticket}
			if got != mintedPrefix+"001" || iss.last() != want {
				t.Errorf("Token() = %q, minted with %+v; want the minted token, minted with %+v", got, iss.last(), want)
			}
		})
	}
}

func TestMalformedSecretValuesAreNamedNeverEchoed(t *testing.T) {
	const part = "SECRETPART"
	for _, tc := range []struct {
		name, value, reason string
	}{
		{"an empty value", "", "empty"},
		{"a value of white space", " \n\t", "empty"},
		{"white space inside a bare token", "tok " + part, "white space"},
		{"a control character inside a bare token", "tok\x00" + part, "control"},
		{"a non-ASCII bare token", "tök" + part, "non-ASCII"},
		{"a quoted bare token", `"` + part + `"`, "quotes"},
		{"a very long bare token", strings.Repeat(part, 200), "longer than"},
		{"truncated JSON", `{"component_access_token": "` + part, "not a JSON object"},
		{"JSON that is not an object of strings", `{"component_appid": 12, "component_appsecret": "` + part + `"}`, "not a JSON object"},
		{"JSON with an empty token", `{"component_access_token": "", "x": "` + part + `"}`, "empty"},
		{"JSON with white space inside the token", `{"component_access_token": "a ` + part + `"}`, "white space"},
		{"credentials without a ticket, and no state record", `{"component_appid":"wx1","component_appsecret":"` + part + `"}`, "lacks component_verify_ticket"},
		{"JSON with none of the fields", `{"token":"` + part + `"}`, "component_appid, component_appsecret, component_verify_ticket"},
		{"a blank app secret", `{"component_appid":"wx1","component_appsecret":" ","component_verify_ticket":"` + part + `"}`, "lacks component_appsecret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, logs := newLogger()
			iss := &fakeIssuer{}
			m := newMemStore("creds", tc.value)
			s := NewSource(Config{Name: `file "/run/creds"`, Credentials: m, CredentialsID: "creds", Issuer: iss, Logger: log})

			_, err := s.Token(t.Context())
			if !errors.Is(err, ErrMalformedSecret) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Token error = %v, want ErrMalformedSecret saying %q", err, tc.reason)
			}
			if !strings.Contains(err.Error(), `token source file "/run/creds"`) || !strings.Contains(err.Error(), "expected the bare token") {
				t.Errorf("error %q names neither the source nor the formats", err)
			}
			if strings.Contains(err.Error(), part) || strings.Contains(logs.String(), part) {
				t.Errorf("the value leaked:\nerror: %v\nlogs: %s", err, logs)
			}
			if iss.calls() != 0 {
				t.Errorf("%d mints, want none", iss.calls())
			}
		})
	}
}

func TestCredentialsReader(t *testing.T) {
	t.Run("credentials without a ticket are accepted: with a state record the ticket is stored there", func(t *testing.T) {
		r := &CredentialsReader{Store: newMemStore("creds", credsJSON("")), ID: "creds"}
		c, err := r.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if want := (Credentials{AppID: testAppID, AppSecret: testAppSecret}); c != want || !c.CanMint() {
			t.Errorf("Read = %+v, want %+v (able to mint)", c, want)
		}
	})

	t.Run("the fields of the authorization events are read and learnt as secrets", func(t *testing.T) {
		secrets := redact.New()
		value := `{"component_appid":"` + testAppID + `","component_appsecret":"` + testAppSecret +
			`","component_verify_ticket":"` + seedTicket + `","component_token":"` + testMsgToken +
			`","component_encoding_aes_key":"` + testAESKey + `","component_encoding_aes_key_previous":"` + testPrevKey + `"}`
		r := &CredentialsReader{Store: newMemStore("creds", value), ID: "creds", Secrets: secrets}
		c, err := r.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		want := Credentials{AppID: testAppID, AppSecret: testAppSecret, VerifyTicket: seedTicket,
			MessageToken: testMsgToken, AESKey: testAESKey, PreviousAESKey: testPrevKey}
		if c != want {
			t.Errorf("Read = %+v, want %+v", c, want)
		}
		text := secrets.String(strings.Join([]string{testAppSecret, seedTicket, testMsgToken, testAESKey, testPrevKey}, " "))
		assertClean(t, text)
	})

	t.Run("the ledger's DSN is read, and it and its password are learnt as secrets", func(t *testing.T) {
		secrets := redact.New()
		const dsn = "envshare:ledger-pass-7f3k@tcp(10.0.0.8:3306)/envshare"
		value := `{"component_appid":"` + testAppID + `","component_appsecret":"` + testAppSecret + `","ledger_dsn":"` + dsn + `"}`
		r := &CredentialsReader{Store: newMemStore("creds", value), ID: "creds", Secrets: secrets}
		c, err := r.Read(t.Context())
		if err != nil || c.LedgerDSN != dsn {
			t.Fatalf("Read = %+v, %v", c, err)
		}
		if got := secrets.String("dsn " + dsn + " password ledger-pass-7f3k"); strings.Contains(got, "ledger-pass") {
			t.Errorf("not masked: %s", got)
		}
	})

	t.Run("the secret is read once per five minutes", func(t *testing.T) {
		c := newClock()
		m := newMemStore("creds", credsJSON(""))
		r := &CredentialsReader{Store: m, ID: "creds", Now: c.Now}
		for _, step := range []time.Duration{0, time.Minute, 3*time.Minute + 59*time.Second, time.Second} {
			c.Advance(step)
			if _, err := r.Read(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if gets, _ := m.counts(); gets != 2 {
			t.Errorf("%d reads in 5 minutes and one second, want 2", gets)
		}
	})

	t.Run("mode env: the fixed credentials, never a read", func(t *testing.T) {
		m := newMemStore()
		fixed := Credentials{AppID: testAppID, MessageToken: testMsgToken, AESKey: testAESKey}
		r := &CredentialsReader{Store: m, ID: "ENVSHARE_COMPONENT_ACCESS_TOKEN", Fixed: &fixed}
		if c, err := r.Read(t.Context()); err != nil || c != fixed {
			t.Errorf("Read = %+v, %v; want %+v", c, err, fixed)
		}
		if gets, _ := m.counts(); gets != 0 {
			t.Errorf("%d reads, want none", gets)
		}
	})

	t.Run("a malformed secret is named, never quoted", func(t *testing.T) {
		r := &CredentialsReader{Store: newMemStore("creds", `{"component_appsecret": "`+testAppSecret), ID: "creds"}
		_, err := r.Read(t.Context())
		if !errors.Is(err, ErrMalformedSecret) || !strings.Contains(err.Error(), `credentials secret "creds"`) {
			t.Errorf("Read error = %v, want ErrMalformedSecret naming the secret", err)
		}
		assertClean(t, "", err)
	})
}

// A credentials secret whose message settings cannot work (an EncodingAESKey that is not
// base64, a message token too short to mask) fails its first read, naming the field and never
// quoting the value: not a 500 on every push (issue 23 #7, "Also").
func TestUnusableMessageSettingsFailTheFirstRead(t *testing.T) {
	for _, tc := range []struct{ name, field, value string }{
		{"an EncodingAESKey that is not base64", "component_encoding_aes_key", strings.Repeat("!", 43)},
		{"an EncodingAESKey of the wrong length", "component_encoding_aes_key", testAESKey + "AB"},
		{"a previous EncodingAESKey that is not base64", "component_encoding_aes_key_previous", strings.Repeat("~", 43)},
		{"a message token shorter than the redactor masks", "component_token", "tok1234"},
		{"a message token longer than WeChat allows", "component_token", strings.Repeat("T", 33)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields := map[string]string{"component_appid": testAppID, "component_appsecret": testAppSecret,
				"component_token": testMsgToken, "component_encoding_aes_key": testAESKey}
			fields[tc.field] = tc.value
			r := &CredentialsReader{Store: newMemStore("creds", recordJSON(map[string]any{
				"component_appid": fields["component_appid"], "component_appsecret": fields["component_appsecret"],
				"component_token": fields["component_token"], "component_encoding_aes_key": fields["component_encoding_aes_key"],
				"component_encoding_aes_key_previous": fields["component_encoding_aes_key_previous"]})), ID: "creds"}
			_, err := r.Read(t.Context())
			if !errors.Is(err, ErrMalformedSecret) || !strings.Contains(err.Error(), tc.field+": ") ||
				!strings.Contains(err.Error(), `credentials secret "creds"`) {
				t.Fatalf("Read error = %v, want ErrMalformedSecret naming %s and the secret", err, tc.field)
			}
			if strings.Contains(err.Error(), tc.value) {
				t.Errorf("the error quotes the value: %v", err)
			}
		})
	}
}
