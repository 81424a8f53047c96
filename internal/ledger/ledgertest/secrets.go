package ledgertest

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/pkg/redact"
)

// noSecretStored: a record whose fields quote secrets the instance knows (a token that
// WeChat's error message repeated, say) is stored with them masked: neither the documents
// nor, when the engine has files, any byte on disk holds them. A marker written beside them
// is found where they are not, so the check does look where the data is.
func (s *suite) noSecretStored(t *testing.T) {
	d, value := s.open(t, 0)
	stamp := strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", ""))
	// The refresh token has a character that JSON escapes: it is masked in its escaped form.
	token, refresh := "component-access-token-"+stamp, "refresh&token-"+stamp
	secrets := []string{token, refresh, strings.ReplaceAll(refresh, "&", `\u0026`)}
	marker := "visible-marker-" + stamp
	l := ledger.New(d, ledger.Options{Redactor: redact.New(token, refresh)})
	pk := ledger.PairKey{Env: "prod-1", AppID: appid(1)}
	if _, err := l.UpdatePair(t.Context(), pk, func(p *ledger.Pair) (bool, error) {
		p.State = ledger.StateFailed
		p.ErrorMessage = "invalid credential, access_token is " + token + " (refresh " + refresh + ") " + marker
		p.ConfirmURL = "https://api.weixin.qq.com/x?access_token=" + token + "&m=" + marker
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.UpdateAuthorizer(t.Context(), pk.AppID, func(a *ledger.Authorizer) (bool, error) {
		a.Principal = "Acme " + token
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	items, err := d.GetMany(t.Context(), []ledger.Key{pairKey(pk.AppID, pk.Env), {Kind: ledger.KindAuthorizer, ID: pk.AppID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		for _, secret := range secrets {
			if bytes.Contains(it.Doc, []byte(secret)) {
				t.Errorf("the stored %s holds a secret: %s", it.Key, it.Doc)
			}
		}
	}
	if !bytes.Contains(items[0].Doc, []byte(marker)) || !bytes.Contains(items[0].Doc, []byte(redact.Mask)) {
		t.Errorf("the stored pair lost what was not secret: %s", items[0].Doc)
	}
	files := s.files(t, value)
	if len(files) == 0 {
		return // an engine started by hand: its files are not known
	}
	if !s.filesHold(t, value, marker) {
		t.Fatalf("the engine's files %v do not hold the marker %q that was written: the check would prove nothing", files, marker)
	}
	for _, secret := range secrets {
		if s.filesHold(t, value, secret) {
			t.Errorf("the engine's files %v hold a secret", files)
		}
	}
}

// unusable: values that cannot be opened fail with an error that names ENVSHARE_LEDGER (and
// the secret's ledger_dsn when the DSN came from it) and holds no password or key.
func (s *suite) unusable(t *testing.T) {
	other := ledger.SchemeDynamoDB
	if s.e.Ledger.Scheme == other {
		other = ledger.SchemeSQLite
	}
	cases := []Unusable{
		{Name: "an unknown scheme", Value: "postgres:host=db password=pg-password-12345", Want: []string{`unknown scheme "postgres"`, "sqlite:PATH"}, Secret: "pg-password-12345"},
		{Name: "a DSN without a scheme", Value: "root:dsn-password-12345@tcp(10.0.0.1:3306)/envshare", Want: []string{"does not start with a known scheme"}, Secret: "dsn-password-12345"},
		{Name: "an engine this binary lacks", Value: other + ":envshare", Want: []string{"this binary has no " + other + " engine", s.e.Ledger.Scheme}},
		{Name: "mysql: without a DSN", Value: "mysql:", Want: []string{"needs a DSN"}},
	}
	if s.e.Unusable != nil {
		cases = append(cases, s.e.Unusable(t)...)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			for k, v := range c.Env {
				t.Setenv(k, v)
				if v == "" {
					os.Unsetenv(k)
				}
			}
			l, err := ledger.Open(t.Context(), c.Value, c.SecretDSN, ledger.Options{}, s.e.Ledger)
			if err == nil {
				l.Close()
				t.Fatalf("ENVSHARE_LEDGER=%s opened", c.Value)
			}
			msg := err.Error()
			t.Log(msg)
			for _, want := range append([]string{ledger.Variable}, c.Want...) {
				if !strings.Contains(msg, want) {
					t.Errorf("the error %q does not say %q", msg, want)
				}
			}
			for _, secret := range []string{c.Secret, c.SecretDSN} {
				if secret != "" && strings.Contains(msg, secret) {
					t.Errorf("the error %q holds the secret %q", msg, secret)
				}
			}
			if c.Unreachable && !errors.Is(err, ledger.ErrUnreachable) {
				t.Errorf("the error %q does not wrap ledger.ErrUnreachable", msg)
			}
		})
	}
}
