package redact

import "strings"

// SecretFields name the JSON fields and query parameters whose values are secret whatever they
// are: WeChat's and envshare's records (the state record, the credentials secret), the
// authorizer list's refresh tokens, the ledger's DSN, and the secret stores' and cloud
// credentials' own fields. A text the function did not write (a store's error quoting a record
// it was about to return) is masked by these names, even when the function has never read the
// values. (access_token, in any case and as the end of another name, is masked as a query
// parameter by the scan of access tokens.)
var SecretFields = []string{
	"component_access_token", "authorizer_access_token", "access_token",
	"component_verify_ticket", "component_appsecret", "component_token",
	"component_encoding_aes_key", "component_encoding_aes_key_previous",
	"refresh_token", "authorizer_refresh_token", "ledger_dsn",
	"SecretString", "SecretBinary", "SecretAccessKey", "SessionToken",
}

// maskSecretFields masks the value of every SecretFields field written as JSON, at any depth of
// JSON strings ("name":"v", \"name\":\"v\", ...), and as a query parameter (name=v).
func maskSecretFields(text string) string {
	for _, name := range SecretFields {
		if strings.Contains(text, name) {
			text = maskJSONField(text, name)
			text = maskQueryParam(text, name)
		}
	}
	return text
}

// maskJSONField masks the string value of each "name": field. The quote that opens the name,
// with the backslashes in front of it, is the quote of its depth: the value must open with the
// same and ends at the next one not escaped deeper, so that a record quoted inside a JSON string
// (or two) is found as well as one quoted as it is.
func maskJSONField(text, name string) string {
	var b strings.Builder
	done := 0 // text[:done] is written to b
	for i := 0; ; {
		k := strings.Index(text[i:], name)
		if k < 0 {
			break
		}
		start := i + k
		i = start + len(name)
		if start == 0 || text[start-1] != '"' {
			continue
		}
		quote := text[start-1-backslashes(text, start-1) : start] // \" at depth 1, \\\" at depth 2
		rest := text[i:]
		if !strings.HasPrefix(rest, quote) {
			continue
		}
		rest = strings.TrimLeft(rest[len(quote):], " \t\r\n")
		if !strings.HasPrefix(rest, ":") {
			continue
		}
		rest = strings.TrimLeft(rest[1:], " \t\r\n")
		if !strings.HasPrefix(rest, quote) {
			continue
		}
		from := len(text) - len(rest) + len(quote)
		to := valueEnd(text, from, quote)
		if to <= from || text[from:to] == Mask {
			continue
		}
		b.WriteString(text[done:from])
		b.WriteString(Mask)
		done, i = to, to
	}
	if done == 0 {
		return text
	}
	b.WriteString(text[done:])
	return b.String()
}

// valueEnd is where a value opened by quote at from ends: at the next quote whose backslashes in
// front are quote's own plus whole escaped backslashes of that depth (at depth d a quote has
// 2^d-1 backslashes and a backslash 2^d: a quote within the value has more, in another
// count); the end of text when there is none.
func valueEnd(text string, from int, quote string) int {
	own := len(quote) - 1 // 2^d - 1
	for j := from; j < len(text); j++ {
		if text[j] != '"' {
			continue
		}
		if n := backslashes(text, j); n >= own && (n-own)%(own+1) == 0 && ((n-own)/(own+1))%2 == 0 {
			return j - own
		}
	}
	return len(text)
}

// backslashes counts the backslashes right in front of text[i].
func backslashes(text string, i int) int {
	n := 0
	for i-n-1 >= 0 && text[i-n-1] == '\\' {
		n++
	}
	return n
}

// maskQueryParam masks the value of each name= query parameter: what follows up to the next &,
// white space, quote, <, > or \.
func maskQueryParam(text, name string) string {
	key := name + "="
	var b strings.Builder
	done := 0
	for i := 0; ; {
		k := strings.Index(text[i:], key)
		if k < 0 {
			break
		}
		start := i + k + len(key)
		end := start
		for end < len(text) && !strings.ContainsRune("&\"'<>\\ \t\n\f\r", rune(text[end])) {
			end++
		}
		i = max(end, start)
		if end == start || text[start:end] == Mask {
			continue
		}
		b.WriteString(text[done:start])
		b.WriteString(Mask)
		done = end
	}
	if done == 0 {
		return text
	}
	b.WriteString(text[done:])
	return b.String()
}
