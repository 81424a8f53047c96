package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestSetMasksEveryFormOfEverySecret(t *testing.T) {
	const token = "tok/en+with=odd&chars<>\"\\"
	const secret = "http-secret-of-20-bytes"
	s := New(token, secret, "short")
	j, _ := json.Marshal("x" + token) // HTML-escaped JSON, as encoding/json writes it
	cases := map[string]string{
		"as is":             "the token " + token + " leaked",
		"query-escaped":     "GET /x?t=" + url.QueryEscape(token),
		"path-escaped":      "GET /" + url.PathEscape(token),
		"JSON-escaped":      `{"m":` + string(j) + `}`,
		"the other secret":  "bearer " + secret,
		"an access_token":   "POST https://api.weixin.qq.com/x?access_token=abc123&x=1",
		"ACCESS_TOKEN case": "https://h/x?ACCESS_TOKEN=abc123",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			got := s.String(text)
			for _, leak := range []string{token, url.QueryEscape(token), url.PathEscape(token), secret, "abc123"} {
				if strings.Contains(got, leak) {
					t.Fatalf("%q still holds %q", got, leak)
				}
			}
			if !strings.Contains(got, Mask) {
				t.Fatalf("%q: nothing masked", got)
			}
		})
	}
	t.Run("values shorter than MinLen are not searched", func(t *testing.T) {
		if got := s.String("a short story"); got != "a short story" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("JSON stays JSON", func(t *testing.T) {
		var v map[string]string
		if err := json.Unmarshal([]byte(s.String(cases["JSON-escaped"])), &v); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSetLearnsValuesLater(t *testing.T) {
	var s Set
	if got := s.String("minted-token-1"); got != "minted-token-1" {
		t.Fatalf("got %q", got)
	}
	s.Add("minted-token-1")
	if got := s.String("x minted-token-1 y"); got != "x "+Mask+" y" {
		t.Fatalf("got %q", got)
	}
	var nilSet *Set
	if got := nilSet.String("?access_token=abc"); got != "?access_token="+Mask {
		t.Fatalf("nil set: %q", got)
	}
}

func TestErrorKeepsTheChain(t *testing.T) {
	s := New("secret-value-123")
	cause := &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}
	err := s.Error(fmt.Errorf("read secret-value-123: %w", cause))
	if strings.Contains(err.Error(), "secret-value-123") || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%v", err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		t.Fatal("errors.As lost the cause")
	}
	if plain := errors.New("nothing to hide"); s.Error(plain) != plain {
		t.Fatal("a clean error must be returned as it is")
	}
}

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://h/p?access_token=abc&x=1":                         "https://h/p?access_token=%5Bredacted%5D&x=1",
		"https://h/p?x=1":                                          "https://h/p?x=1",
		"https://h/p?component_access_token=abc":                   "https://h/p?component_access_token=%5Bredacted%5D",
		"https://h/p?Authorizer_Access_Token=abc":                  "https://h/p?Authorizer_Access_Token=%5Bredacted%5D",
		"https://h/p?notaccess_token=abc":                          "https://h/p?notaccess_token=abc",
		"https://h/p?access_token=%zz":                             "https://h/p?" + Mask,
		"http://127.0.0.1:1/\x7f?access_token=abc":                 "http://127.0.0.1:1/\x7f?" + Mask,
		"http://127.0.0.1:1/cgi-bin/component/api_component_token": "http://127.0.0.1:1/cgi-bin/component/api_component_token",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
	ue := &url.Error{Op: "Post", URL: "https://h/p?access_token=abc", Err: errors.New("boom")}
	if got := URLError(ue).Error(); strings.Contains(got, "abc") {
		t.Fatalf("%s", got)
	}
}

func BenchmarkString(b *testing.B) {
	s := New("tok-0123456789abcdef", "http-secret-of-20-bytes", "notify-secret-0123456", "app-secret-0123456789")
	line := `{"time":"2026-12-01T00:00:00Z","level":"INFO","msg":"invocation","request_id":"r1","platform":"aws","trigger":"http","action":"share","status":200}`
	b.ReportAllocs()
	for b.Loop() {
		_ = s.String(line)
	}
}

func TestHandlerMasksEveryStringOfARecord(t *testing.T) {
	var b bytes.Buffer
	s := New("secret-value-123")
	log := slog.New(Handler(slog.NewJSONHandler(&b, nil), s)).With("context", "with secret-value-123")
	log.Info("message secret-value-123", "plain", "secret-value-123", "error", errors.New("echo secret-value-123"),
		slog.Group("g", "nested", "x secret-value-123"), "n", 7)
	if strings.Contains(b.String(), "secret-value-123") || strings.Count(b.String(), Mask) != 5 {
		t.Fatalf("%s", b.String())
	}
	if !strings.Contains(b.String(), `"n":7`) {
		t.Fatalf("other values must pass: %s", b.String())
	}
}

// FuzzAccessTokens compares the scan with the regular expression it replaced, on every text
// but those where the expression's Unicode case folding reads "ſ" as s or "K" (Kelvin) as k:
// the client's URLs spell the parameter in ASCII.
func FuzzAccessTokens(f *testing.F) {
	oracle := regexp.MustCompile(`(?i)(access_token=)[^&\s"'<>\\]+`)
	for _, s := range []string{"", "x?access_token=abc&y=1", "ACCESS_TOKEN=a b", "access_token=&access_token=z",
		"access_token=access_token=q", `"access_token=\"x"`, "a=1&Access_Token=\xff\xfe<"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if strings.ContainsAny(text, "ſK") {
			return
		}
		if got, want := maskAccessTokens(text), oracle.ReplaceAllString(text, "${1}"+Mask); got != want {
			t.Fatalf("maskAccessTokens(%q) = %q, the expression gives %q", text, got, want)
		}
	})
}

// A record quoted by text the function did not write (a store's error on its first read) is
// masked by its secret fields' names, whatever their values: the function may never have read
// them (issue 23 #4).
func TestSecretFieldsAreMaskedByName(t *testing.T) {
	const token, ticket = "TOKEN-NEVER-READ-0123", "TICKET-NEVER-READ-4567"
	record, _ := json.Marshal(map[string]string{"component_access_token": token, "component_verify_ticket": ticket, "note": "kept"})
	inString, _ := json.Marshal("the store holds " + string(record)) // the record inside a JSON string
	twice, _ := json.Marshal(string(inString))                       // and that inside another
	spaced := `{ "component_appsecret" : "` + token + `", "refresh_token":"` + ticket + `" }`
	secretsManager, _ := json.Marshal(map[string]string{"SecretString": string(record)})
	for name, text := range map[string]string{
		"a record quoted as it is":          "store refused to read s, which holds " + string(record),
		"a record inside a JSON string":     string(inString),
		"a record two JSON strings deep":    string(twice),
		"spaces around the colon":           spaced,
		"a Secrets Manager answer":          string(secretsManager),
		"a query parameter":                 "GET /x?component_verify_ticket=" + ticket + "&refresh_token=" + token,
		"the ledger's DSN in a JSON record": `{"ledger_dsn":"` + token + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			got := New().String(text)
			if strings.Contains(got, token) || strings.Contains(got, ticket) {
				t.Fatalf("%s\nstill holds a value: %s", text, got)
			}
			if strings.Contains(text, "note") && !strings.Contains(text, "SecretString") && !strings.Contains(got, "kept") {
				t.Errorf("a field that is no secret was masked: %s", got)
			}
			if json.Valid([]byte(text)) && !json.Valid([]byte(got)) {
				t.Errorf("JSON is no longer JSON: %s", got)
			}
		})
	}
	t.Run("other fields and words pass", func(t *testing.T) {
		for _, text := range []string{`{"appid":"wx1","confirm_url":"https://h/x"}`, "a component_token is needed",
			`{"component_access_token":""}`, `"component_access_token":`} {
			if got := New().String(text); got != text {
				t.Errorf("String(%q) = %q", text, got)
			}
		}
	})
}

// FuzzSecretFields: whatever the text around it, the value of a secret field written as JSON
// (at any depth of JSON strings) never survives the redactor, and text without secret field
// names passes unchanged.
func FuzzSecretFields(f *testing.F) {
	f.Add("prefix ", " suffix", 0, "SECRETVALUE123")
	f.Add(`{"a":`, `}`, 1, "x y z")
	f.Add(`\"`, `\\`, 2, "ab\\cd")
	f.Fuzz(func(t *testing.T, before, after string, depth int, value string) {
		if len(value) < MinLen || strings.ContainsAny(value, "\"\\") {
			return // a value with quotes or backslashes ends early at depth > 0: its own field masks the rest
		}
		field := func(v string) string { // the field, as JSON quoted depth%3 times
			b, _ := json.Marshal(map[string]string{"component_verify_ticket": v})
			text := string(b)
			for range depth % 3 {
				q, _ := json.Marshal(text)
				text = string(q)
			}
			return text
		}
		text := before + field(value) + after
		got := New().String(text)
		// The value may stay only where the text holds it apart from the field's value: in
		// before or after, or formed across their edges ("0000000" + `{"...`), which is also
		// in the text with the field masked.
		if strings.Contains(got, value) && !strings.Contains(before+field(Mask)+after, value) {
			t.Fatalf("String(%q) = %q still holds %q", text, got, value)
		}
		plain := before + after
		if !strings.Contains(plain, "_") && !strings.Contains(plain, "Secret") && !strings.Contains(plain, "Session") {
			if got := New().String(plain); got != plain {
				t.Fatalf("String(%q) = %q changed a text without secret fields", plain, got)
			}
		}
	})
}
