// Package redact is envshare's one redactor: it replaces secret values, the access_token of any
// URL and the values of secret fields by name (SecretFields: a record quoted by a store's
// error, read or not) with [redacted], in text the function did not write itself (WeChat's
// errmsg and URLs, a secret store's error) as well as its own answers, logs, errors and
// notifications. It is a public package: pkg/wechat and pkg/share use it, and other Go code may
// import it.
//
// A Set holds the secret values an instance knows; values learnt later (a minted token, a
// ticket read from the state record) are added as they appear. Each value is searched as it
// is and in the escaped forms it takes in a URL or a JSON string.
package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Mask replaces every secret.
const Mask = "[redacted]"

// MinLen is the shortest value a Set searches for: a shorter one would match ordinary words
// (every secret the function knows is much longer: tokens, keys, the 16-byte minimum of its
// HTTP secrets).
const MinLen = 8

// Set is a set of secret values, safe for concurrent use. The zero value is empty and usable;
// a nil *Set redacts only access_token values.
type Set struct {
	mu     sync.RWMutex
	values map[string]bool // the values added, to add each once
	forms  []string        // every searched form of every value, longest first
}

// New returns a Set holding values.
func New(values ...string) *Set {
	s := &Set{}
	s.Add(values...)
	return s
}

// Add adds values (empty ones and ones shorter than MinLen are ignored).
func (s *Set) Add(values ...string) {
	if s == nil {
		return
	}
	s.mu.RLock()
	fresh := make([]string, 0, len(values))
	for _, v := range values {
		if len(v) >= MinLen && !s.values[v] {
			fresh = append(fresh, v)
		}
	}
	s.mu.RUnlock()
	if len(fresh) == 0 {
		return // the common case: every invocation adds the values it already knows
	}
	var add []string
	for _, v := range fresh {
		add = append(add, forms(v)...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = make(map[string]bool)
	}
	for _, v := range fresh {
		s.values[v] = true
	}
	for _, f := range add {
		if !slices.Contains(s.forms, f) {
			s.forms = append(s.forms, f)
		}
	}
	// Longest first, so that a value containing another is masked whole.
	slices.SortStableFunc(s.forms, func(a, b string) int { return len(b) - len(a) })
}

// String returns text with every secret and every access_token value masked.
func (s *Set) String(text string) string {
	if s != nil {
		s.mu.RLock()
		for _, f := range s.forms {
			if strings.Contains(text, f) {
				text = strings.ReplaceAll(text, f, Mask)
			}
		}
		s.mu.RUnlock()
	}
	return maskSecretFields(maskAccessTokens(text))
}

// Error returns err with a masked message, or err itself when nothing needed masking. The
// result still unwraps to err, so errors.Is and errors.As see the whole chain.
func (s *Set) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := s.String(msg); clean != msg {
		return &maskedError{msg: clean, err: err}
	}
	return err
}

// Text masks the given values (as a Set would) and access_token values in text.
func Text(text string, values ...string) string { return New(values...).String(text) }

// Values masks values in err's message, like Set.Error.
func Values(err error, values ...string) error { return New(values...).Error(err) }

// URL masks the access_token query value of a URL (and that of component_access_token or any
// other parameter named *_access_token); a URL that does not parse loses its query, which is
// where a token would be.
func URL(raw string) string {
	u, err := url.Parse(raw)
	var q url.Values
	if err == nil {
		q, err = url.ParseQuery(u.RawQuery)
	}
	if err != nil {
		if i := strings.IndexByte(raw, '?'); i >= 0 {
			return raw[:i] + "?" + Mask
		}
		return raw
	}
	changed := false
	for k := range q {
		if isTokenParam(k) {
			q.Set(k, Mask)
			changed = true
		}
	}
	if !changed {
		return raw
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// isTokenParam reports a query parameter that carries a token: access_token, or a name ending
// in _access_token (component_access_token), in any case.
func isTokenParam(name string) bool {
	const key = "access_token"
	n := len(name)
	return strings.EqualFold(name, key) ||
		n > len(key) && name[n-len(key)-1] == '_' && strings.EqualFold(name[n-len(key):], key)
}

// URLError returns a copy of a *url.Error (what net/http returns, quoting the whole request
// URL) with its URL masked; any other error is returned as it is.
func URLError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) || err != error(ue) {
		return err
	}
	clean := *ue
	clean.URL = URL(ue.URL)
	return &clean
}

// maskedError shows a masked message in place of its cause's.
type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

// forms lists v as is and as it appears escaped in a URL query, a URL path and a JSON string
// (with and without HTML escaping).
func forms(v string) []string {
	out := []string{v}
	add := func(f string) {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	add(url.QueryEscape(v))
	add(url.PathEscape(v))
	for _, html := range []bool{false, true} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		if enc.Encode(v) == nil {
			add(strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(b.String(), `"`), "\n"), `"`))
		}
	}
	return out
}

// maskAccessTokens masks the value of every access_token query parameter, whatever the case
// of its name: what follows "access_token=" up to the next &, white space, quote, <, > or \.
// (A scan, not a regular expression: compiling one cost every cold start 0.1 ms.)
func maskAccessTokens(text string) string {
	const key = "access_token="
	var b strings.Builder
	done := 0 // text[:done] is written to b
	for i := 0; i+len(key) <= len(text); i++ {
		if text[i]|0x20 != 'a' || !strings.EqualFold(text[i:i+len(key)], key) {
			continue
		}
		start := i + len(key)
		end := start
		for end < len(text) && !strings.ContainsRune("&\"'<>\\ \t\n\f\r", rune(text[end])) {
			end++
		}
		if end > start {
			b.WriteString(text[done:start])
			b.WriteString(Mask)
			done = end
		}
		i = end - 1
	}
	if done == 0 {
		return text
	}
	b.WriteString(text[done:])
	return b.String()
}
