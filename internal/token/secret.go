package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/wxcrypt"
)

// ErrMalformedSecret is wrapped by every error about a secret value that is none of the
// accepted formats. The error says what is wrong, never what the value is.
var ErrMalformedSecret = errors.New("malformed secret value")

// formats is appended to every malformed-value error, so the reader knows what to store.
const formats = `expected the bare token, {"component_access_token": "..."}, or ` +
	`{"component_appid": "...", "component_appsecret": "...", "component_verify_ticket": "..."}`

// maxTokenLen bounds a bare token: real ones are about 150 characters, so anything much longer
// is the wrong secret.
const maxTokenLen = 1024

// Credentials are the third-party platform's own values, from the credentials secret (or, in
// mode env, from ENVSHARE_COMPONENT_* variables).
type Credentials struct {
	AppID          string // component_appid
	AppSecret      string // component_appsecret
	VerifyTicket   string // component_verify_ticket: with a state record, only a seed
	MessageToken   string // component_token: WeChat's message verification token (消息校验Token)
	AESKey         string // component_encoding_aes_key (消息加解密Key)
	PreviousAESKey string // component_encoding_aes_key_previous, during a key rotation
	LedgerDSN      string // ledger_dsn: the MySQL DSN of ENVSHARE_LEDGER=mysql
}

// Values lists the secret values of c, for the redactor: the ledger's DSN and its password
// among them.
func (c Credentials) Values() []string {
	return append([]string{c.AppSecret, c.VerifyTicket, c.MessageToken, c.AESKey, c.PreviousAESKey, c.LedgerDSN},
		ledger.DSNSecrets(c.LedgerDSN)...)
}

// CanMint reports whether c holds what minting needs besides a ticket.
func (c Credentials) CanMint() bool { return c.AppID != "" && c.AppSecret != "" }

// secretValue is a parsed credentials secret: the token itself (and, as a backend that owns
// it writes it, its expiry), the credentials, or both absent (an error).
type secretValue struct {
	token     string
	expiresAt time.Time // zero: not given
	creds     Credentials
}

// parseSecret reads a secret value in any accepted format. Surrounding white space (a file's
// final newline) and a byte order mark are ignored.
func parseSecret(raw string) (secretValue, error) {
	v := strings.TrimSpace(strings.TrimPrefix(raw, "\ufeff"))
	if v == "" {
		return secretValue{}, malformed("it is empty")
	}
	if v[0] != '{' {
		if problem := tokenProblem(v); problem != "" {
			return secretValue{}, malformed(problem)
		}
		return secretValue{token: v}, nil
	}
	var j struct {
		Token          *string `json:"component_access_token"`
		AppID          *string `json:"component_appid"`
		AppSecret      *string `json:"component_appsecret"`
		VerifyTicket   *string `json:"component_verify_ticket"`
		MessageToken   *string `json:"component_token"`
		AESKey         *string `json:"component_encoding_aes_key"`
		PreviousAESKey *string `json:"component_encoding_aes_key_previous"`
		LedgerDSN      *string `json:"ledger_dsn"`
		ExpiresAt      *string `json:"expires_at"`
	}
	// The decoder's message is dropped: a syntax error can quote part of the value.
	if err := json.Unmarshal([]byte(v), &j); err != nil {
		return secretValue{}, malformed("it starts with { but is not a JSON object of strings")
	}
	s := secretValue{creds: Credentials{AppID: trim(j.AppID), AppSecret: trim(j.AppSecret),
		VerifyTicket: trim(j.VerifyTicket), MessageToken: trim(j.MessageToken), AESKey: trim(j.AESKey),
		PreviousAESKey: trim(j.PreviousAESKey), LedgerDSN: trim(j.LedgerDSN)}}
	if j.Token != nil {
		if problem := tokenProblem(*j.Token); problem != "" {
			return secretValue{}, malformed("component_access_token: " + problem)
		}
		s.token = *j.Token
	}
	if j.ExpiresAt != nil && *j.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339Nano, *j.ExpiresAt)
		if err != nil {
			return secretValue{}, malformed("expires_at: not an RFC 3339 time")
		}
		s.expiresAt = t
	}
	if problem := s.creds.messageProblem(); problem != "" {
		return secretValue{}, malformed(problem)
	}
	return s, nil
}

// messageProblem says which message setting of WeChat's pushes cannot work ("" when none): a
// key that is not an EncodingAESKey would fail every push, and a message token shorter than
// the redactor masks could leak. Fields left out are fine (no pushes, or mode env).
func (c Credentials) messageProblem() string {
	if c.MessageToken != "" {
		if problem := wxcrypt.TokenProblem(c.MessageToken); problem != "" {
			return "component_token: " + problem
		}
	}
	for _, k := range []struct{ field, value string }{
		{"component_encoding_aes_key", c.AESKey}, {"component_encoding_aes_key_previous", c.PreviousAESKey},
	} {
		if problem := wxcrypt.KeyProblem(k.value); k.value != "" && problem != "" {
			return k.field + ": " + problem
		}
	}
	return ""
}

// mintingProblem says what a secret without a token lacks for minting ("" when nothing).
func (s secretValue) mintingProblem() string {
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"component_appid", s.creds.AppID}, {"component_appsecret", s.creds.AppSecret},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if s.creds.VerifyTicket == "" {
		missing = append(missing, "component_verify_ticket")
	}
	if len(missing) == 0 {
		return ""
	}
	return "the JSON has no component_access_token and lacks " + strings.Join(missing, ", ")
}

func trim(p *string) string {
	if p == nil {
		return ""
	}
	return strings.TrimSpace(*p)
}

// tokenProblem says what is wrong with a token, or "" when nothing is. Tokens are printable
// ASCII without spaces or quotes: what WeChat's tokens are made of.
func tokenProblem(t string) string {
	switch {
	case t == "":
		return "the token is empty"
	case len(t) > maxTokenLen:
		return fmt.Sprintf("the token is longer than %d characters", maxTokenLen)
	}
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return "the token contains white space"
		case c < 0x20 || c == 0x7f:
			return "the token contains control characters"
		case c >= 0x80:
			return "the token contains non-ASCII characters"
		case c == '"' || c == '\'' || c == '\\':
			return "the token contains quotes or backslashes"
		}
	}
	return ""
}

func malformed(reason string) error {
	return fmt.Errorf("%w: %s (%s)", ErrMalformedSecret, reason, formats)
}
