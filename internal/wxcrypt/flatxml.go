package wxcrypt

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WeChat's pushes and events are flat documents: <xml>, then one element per field, each
// holding text or <![CDATA[text]]>. readFlat reads exactly that form; anything else (nesting,
// attributes, a field given twice, an unknown entity, trailing data) is ErrMalformed. It is
// written here rather than with encoding/xml so that the SCF binary keeps within its size
// budget; the tests read every input with encoding/xml too and compare.

// readFlat returns the fields of a flat <xml> document.
func readFlat(doc []byte) (map[string]string, error) {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrMalformed, why) }
	s := string(doc)
	if !utf8.ValidString(s) {
		return nil, bad("not UTF-8")
	}
	if strings.IndexFunc(s, func(r rune) bool { return !isXMLChar(r) }) >= 0 {
		return nil, bad("a character XML does not allow")
	}
	// XML reads every line ending as "\n", CDATA included.
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<?xml") { // an XML declaration
		end := strings.Index(s, "?>")
		if end < 0 {
			return nil, bad("the XML declaration is not closed")
		}
		s = strings.TrimLeft(s[end+2:], " \t\r\n")
	}
	inner, ok := strings.CutPrefix(s, "<xml>")
	if !ok {
		return nil, bad("not an <xml> document")
	}
	inner, ok = strings.CutSuffix(inner, "</xml>")
	if !ok {
		return nil, bad("<xml> is not closed")
	}
	fields := map[string]string{}
	for {
		inner = strings.TrimLeft(inner, " \t\r\n")
		if inner == "" {
			return fields, nil
		}
		name, rest, ok := cutTag(inner)
		if !ok {
			return nil, bad("an element is not <Name>")
		}
		// The content: text and CDATA sections (encoding/xml splits a value holding "]]>" in two).
		var value strings.Builder
		for !strings.HasPrefix(rest, "</") {
			if cdata, ok := strings.CutPrefix(rest, "<![CDATA["); ok {
				end := strings.Index(cdata, "]]>")
				if end < 0 {
					return nil, bad("CDATA is not closed")
				}
				value.WriteString(cdata[:end])
				rest = cdata[end+3:]
				continue
			}
			end := strings.IndexByte(rest, '<')
			if end <= 0 {
				return nil, bad("an element is not closed, or holds another")
			}
			text, err := unescape(rest[:end])
			if err != nil {
				return nil, bad(err.Error())
			}
			value.WriteString(text)
			rest = rest[end:]
		}
		rest, ok = strings.CutPrefix(rest, "</"+name+">")
		if !ok {
			return nil, bad("an element is not closed where its text ends")
		}
		if _, dup := fields[name]; dup {
			return nil, bad("a field is given twice")
		}
		fields[name] = value.String()
		inner = rest
	}
}

// cutTag reads "<Name>" at the start of s.
func cutTag(s string) (name, rest string, ok bool) {
	if !strings.HasPrefix(s, "<") {
		return "", "", false
	}
	end := strings.IndexByte(s, '>')
	if end < 2 {
		return "", "", false
	}
	name = s[1:end]
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return "", "", false
		}
	}
	return name, s[end+1:], true
}

// unescape resolves XML's five named entities and character references in text.
func unescape(text string) (string, error) {
	if !strings.Contains(text, "&") {
		return text, nil
	}
	var b bytes.Buffer
	for {
		i := strings.IndexByte(text, '&')
		if i < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		b.WriteString(text[:i])
		end := strings.IndexByte(text[i:], ';')
		if end < 0 {
			return "", fmt.Errorf("an entity is not closed")
		}
		ref := text[i+1 : i+end]
		switch ref {
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "amp":
			b.WriteByte('&')
		case "quot":
			b.WriteByte('"')
		case "apos":
			b.WriteByte('\'')
		default:
			r, err := charRef(ref)
			if err != nil {
				return "", err
			}
			b.WriteRune(r)
		}
		text = text[i+end+1:]
	}
}

// charRef reads "#123" or "#x7B".
func charRef(ref string) (rune, error) {
	num, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return 0, fmt.Errorf("an unknown entity")
	}
	base := 10
	if hex, ok := strings.CutPrefix(num, "x"); ok {
		num, base = hex, 16
	}
	n, err := strconv.ParseUint(num, base, 32)
	if err != nil || !isXMLChar(rune(n)) || num == "" || num[0] == '+' || num[0] == '-' {
		return 0, fmt.Errorf("a bad character reference")
	}
	return rune(n), nil
}

// isXMLChar reports whether XML allows r in a document (its Char production).
func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// cdataField writes <Name><![CDATA[value]]></Name>; value must not hold "]]>" (appids and
// base64 never do).
func cdataField(b *strings.Builder, name, value string) {
	b.WriteString("<" + name + "><![CDATA[" + value + "]]></" + name + ">")
}
