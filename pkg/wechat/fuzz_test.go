package wechat

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// FuzzAnswers: whatever WeChat answers to the authorizer calls and the quota read, decoding
// and checking it never panics; an answer that passes has the fields its call relies on; and
// a refresh token never shows when the decoded answer is printed or encoded.
func FuzzAnswers(f *testing.F) {
	for _, seed := range []string{
		infoAnswer,
		`{"total_count":2,"list":[{"authorizer_appid":"wx1","refresh_token":"refreshtoken@@@a","auth_time":1}]}`,
		`{"errcode":0,"errmsg":"ok","quota":{"daily_limit":100,"used":1,"remain":99},"rate_limit":{"call_count":5,"refresh_second":60}}`,
		`{"errcode":45009,"errmsg":"reach max api daily quota limit"}`,
		`{"quota":{"daily_limit":"x"}}`, `{"list":[{"refresh_token":1e999}]}`, `{}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, out := range []answer{&AuthorizerInfoResponse{}, &AuthorizerListResponse{}, &QuotaResponse{}} {
			if decode(data, out) != nil {
				continue
			}
			if code, _ := out.status(); code != 0 {
				continue
			}
			if out.(validator).validate(data) != nil {
				continue
			}
			var fields map[string]any
			if err := json.Unmarshal(data, &fields); err != nil {
				t.Fatalf("a valid answer is no JSON object: %v", err)
			}
			switch v := out.(type) {
			case *QuotaResponse:
				if !slices.ContainsFunc(matching(fields, "quota"), func(q any) bool {
					m, _ := q.(map[string]any)
					return isNumber(m, "daily_limit") && isNumber(m, "used") && isNumber(m, "remain")
				}) {
					t.Fatal("no numeric quota.daily_limit, used and remain, yet the answer passed")
				}
			case *AuthorizerListResponse:
				if !isNumber(fields, "total_count") {
					t.Fatal("no total_count, yet the answer passed")
				}
				for _, e := range v.List {
					noSecretShown(t, v, e.RefreshToken)
				}
			case *AuthorizerInfoResponse:
				noSecretShown(t, v, v.AuthorizationInfo.AuthorizerRefreshToken)
			}
		}
	})
}

// matching returns m's values of the keys encoding/json matches with key: equal but for case.
func matching(m map[string]any, key string) []any {
	var found []any
	for k, v := range m {
		if strings.EqualFold(k, key) {
			found = append(found, v)
		}
	}
	return found
}

// isNumber reports whether one of m's values for key is a number.
func isNumber(m map[string]any, key string) bool {
	return slices.ContainsFunc(matching(m, key), func(v any) bool { _, ok := v.(float64); return ok })
}

// noSecretShown fails when v, printed or encoded, shows the secret (when the secret is long
// and distinctive enough to be recognised: at least 8 bytes and no other field's text).
func noSecretShown(t *testing.T, v any, s Secret) {
	t.Helper()
	secret := s.Reveal()
	if len(secret) < 8 || strings.Contains("[redacted]", secret) {
		return
	}
	b, _ := json.Marshal(v)
	printed := fmt.Sprintf("%+v", v)
	// The secret may equal another field's value (the fuzzer is inventive): only then may it
	// show, so blank every Secret and compare.
	if strings.Contains(printed, secret) && !strings.Contains(fmt.Sprintf("%+v", blanked(v)), secret) {
		t.Fatalf("printed: %s", printed)
	}
	if strings.Contains(string(b), secret) {
		if blank, _ := json.Marshal(blanked(v)); !strings.Contains(string(blank), secret) {
			t.Fatalf("encoded: %s", b)
		}
	}
}

// blanked returns a copy of v without refresh tokens.
func blanked(v any) any {
	switch v := v.(type) {
	case *AuthorizerListResponse:
		c := *v
		c.List = append([]AuthorizerListEntry(nil), v.List...)
		for i := range c.List {
			c.List[i].RefreshToken = Secret{}
		}
		return &c
	case *AuthorizerInfoResponse:
		c := *v
		c.AuthorizationInfo.AuthorizerRefreshToken = Secret{}
		return &c
	}
	return v
}
