package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/envshare/envshare/pkg/wechat"
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

// secret is a parsed secret value: either the token itself or the credentials to mint one.
type secret struct {
	token string
	creds *wechat.ComponentTokenRequest
}

// parseSecret reads a secret value in any accepted format. Surrounding white space (a file's
// final newline) and a byte order mark are ignored.
func parseSecret(raw string) (secret, error) {
	v := strings.TrimSpace(strings.TrimPrefix(raw, "\ufeff"))
	if v == "" {
		return secret{}, malformed("it is empty")
	}
	if v[0] != '{' {
		if problem := tokenProblem(v); problem != "" {
			return secret{}, malformed(problem)
		}
		return secret{token: v}, nil
	}

	var j struct {
		Token        *string `json:"component_access_token"`
		AppID        *string `json:"component_appid"`
		AppSecret    *string `json:"component_appsecret"`
		VerifyTicket *string `json:"component_verify_ticket"`
	}
	// The decoder's message is dropped: a syntax error can quote part of the value.
	if err := json.Unmarshal([]byte(v), &j); err != nil {
		return secret{}, malformed("it starts with { but is not a JSON object of strings")
	}
	if j.Token != nil {
		if problem := tokenProblem(*j.Token); problem != "" {
			return secret{}, malformed("component_access_token: " + problem)
		}
		return secret{token: *j.Token}, nil
	}
	var missing []string
	for _, f := range []struct {
		name  string
		value *string
	}{{"component_appid", j.AppID}, {"component_appsecret", j.AppSecret}, {"component_verify_ticket", j.VerifyTicket}} {
		if f.value == nil || strings.TrimSpace(*f.value) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return secret{}, malformed("the JSON has no component_access_token and lacks " + strings.Join(missing, ", "))
	}
	return secret{creds: &wechat.ComponentTokenRequest{
		ComponentAppID:        strings.TrimSpace(*j.AppID),
		ComponentAppSecret:    strings.TrimSpace(*j.AppSecret),
		ComponentVerifyTicket: strings.TrimSpace(*j.VerifyTicket),
	}}, nil
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
