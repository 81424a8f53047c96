// Package strictjson finds what encoding/json silently accepts but envshare must refuse: an
// object that holds the same key twice, at any depth. json.Unmarshal keeps the last value, so
// {"action":"share","action":"unshare"} would unshare; a caller must never be able to smuggle
// a second meaning past a reader that looks at the first. It is a public package: pkg/share
// uses it, and other Go code may import it. It is kept until encoding/json v2, which refuses
// duplicate names itself, is the default (the library table of docs/development.md).
package strictjson

import (
	"encoding/json"
	"iter"
	"strconv"
	"strings"
)

// maxReported bounds how many duplicates DuplicateKeys lists.
const maxReported = 20

// DuplicateKeys returns the path of every key that appears twice in one object of data (at
// most 20), such as `action` or `data[1].env`, in the order the repetitions appear. data must
// be valid JSON (check it with json.Valid or a decoder first): on anything else the result
// is unspecified, but the function never panics. Keys are compared after unescaping, as
// encoding/json compares them ("a" and "\u0061" are the same key).
func DuplicateKeys(data []byte) []string {
	s := scanner{data: data}
	s.value()
	return s.dups
}

type scanner struct {
	data []byte
	pos  int
	path []segment // where the scan is; rendered only for a duplicate
	dups []string
}

// segment is one step of a path: an object key, or an array index.
type segment struct {
	key     string
	index   int
	isIndex bool
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// value scans one JSON value at s.pos.
func (s *scanner) value() {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return
	}
	switch s.data[s.pos] {
	case '{':
		s.object()
	case '[':
		s.array()
	case '"':
		s.skipString()
	default: // a number, true, false or null: up to the next delimiter
		for s.pos < len(s.data) && !strings.ContainsRune(",]} \t\n\r", rune(s.data[s.pos])) {
			s.pos++
		}
	}
}

func (s *scanner) object() {
	var seen map[string]bool
	for range s.members('}') {
		if s.data[s.pos] != '"' {
			continue // no progress: not valid JSON
		}
		key := s.str()
		if seen == nil {
			seen = map[string]bool{}
		}
		s.path = append(s.path, segment{key: key})
		if seen[key] && len(s.dups) < maxReported {
			s.dups = append(s.dups, render(s.path))
		}
		seen[key] = true
		s.skipSpace()
		if s.pos < len(s.data) && s.data[s.pos] == ':' {
			s.pos++
		}
		s.value()
		s.path = s.path[:len(s.path)-1]
	}
}

func (s *scanner) array() {
	for i := range s.members(']') {
		s.path = append(s.path, segment{index: i, isIndex: true})
		s.value()
		s.path = s.path[:len(s.path)-1]
	}
}

// members walks the object or array that opens at s.pos up to its closing byte, yielding at the
// start of each of its members the member's index. A member that moves s.pos no further is not
// valid JSON: the walk stops at the end of the data.
func (s *scanner) members(closing byte) iter.Seq[int] {
	return func(yield func(int) bool) {
		s.pos++ // { or [
		for i := 0; ; {
			s.skipSpace()
			if s.pos >= len(s.data) || s.data[s.pos] == closing {
				s.pos++
				return
			}
			if s.data[s.pos] == ',' {
				s.pos++
				i++
				continue
			}
			start := s.pos
			if !yield(i) {
				return
			}
			if s.pos == start {
				s.pos = len(s.data)
				return
			}
		}
	}
}

// skipString moves past a string value at s.pos.
func (s *scanner) skipString() {
	for s.pos++; s.pos < len(s.data); s.pos++ {
		switch s.data[s.pos] {
		case '\\':
			s.pos++
		case '"':
			s.pos++
			return
		}
	}
}

// str scans a string at s.pos and returns its value as encoding/json reads it.
func (s *scanner) str() string {
	s.pos++ // opening quote
	start, plainASCII := s.pos, true
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; {
		case c == '\\':
			plainASCII = false
			s.pos += 2
			continue
		case c == '"':
			raw := s.data[start:s.pos]
			s.pos++
			if plainASCII {
				return string(raw)
			}
			// Escapes and invalid UTF-8 (each bad byte reads as U+FFFD): as encoding/json does.
			var v string
			if json.Unmarshal(s.data[start-1:s.pos], &v) == nil {
				return v
			}
			return string(raw)
		case c >= 0x80:
			plainASCII = false
		}
		s.pos++
	}
	return string(s.data[start:])
}

// render names a path the way envshare names fields: data[1].env, with a key quoted when it
// is not a plain name.
func render(path []segment) string {
	var b strings.Builder
	for i, seg := range path {
		switch {
		case seg.isIndex:
			b.WriteString("[" + strconv.Itoa(seg.index) + "]")
		case plain(seg.key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(seg.key)
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(strconv.Quote(seg.key))
		}
	}
	return b.String()
}

func plain(k string) bool {
	if k == "" || len(k) > 40 {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
