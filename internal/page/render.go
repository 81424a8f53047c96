package page

import (
	"fmt"
	"strings"
	"sync"
)

// The page is page.html, escaped exactly as html/template escapes it (a test renders the same
// file with html/template, on fuzzed values, and compares the bytes), but rendered here by a
// few lines of code: html/template makes the linker keep every exported method of every type
// in the binary (text/template calls methods by name), which would add 1.6 MB to each binary,
// 600 KB zipped, for a page with nine values.
//
// page.html uses only {{define "x"}}...{{end}}, {{template "head" .}} and {{.Field}}; each
// {{.Field}} is escaped for where it stands: text, an attribute, a URL attribute, or the
// trusted style sheet.

// part is a run of literal HTML, or a field with its escaper.
type part struct {
	literal string
	field   string
	escape  func(string) string
}

// templates are the compiled blocks of page.html, by name, compiled on first use (not at every
// cold start: most invocations render no page).
var templates = sync.OnceValue(func() map[string][]part { return compile(pageHTML) })

// compile splits page.html into its blocks, inlining {{template "head" .}}.
func compile(src string) map[string][]part {
	blocks := map[string]string{}
	for rest := src; ; {
		start := strings.Index(rest, `{{define "`)
		if start < 0 {
			break
		}
		rest = rest[start+len(`{{define "`):]
		name, body, _ := strings.Cut(rest, `"}}`)
		body, rest, _ = strings.Cut(body, "{{end}}")
		blocks[name] = body
	}
	out := map[string][]part{}
	for name, body := range blocks {
		body = strings.ReplaceAll(body, `{{template "head" .}}`, blocks["head"])
		out[name] = split(body)
	}
	return out
}

// split turns a block into literal runs and {{.Field}} parts.
func split(body string) []part {
	var parts []part
	for {
		start := strings.Index(body, "{{.")
		if start < 0 {
			return append(parts, part{literal: body})
		}
		end := strings.Index(body[start:], "}}")
		if end < 0 {
			panic("page.html: unclosed {{") // caught by every test
		}
		before := body[:start]
		parts = append(parts, part{literal: before},
			part{field: body[start+3 : start+end], escape: escaperFor(before)})
		body = body[start+end+2:]
	}
}

// escaperFor chooses the escaper of a field from the HTML just before it, as html/template's
// contexts would: the style element's trusted CSS, a URL attribute, another attribute, text.
func escaperFor(before string) func(string) string {
	switch {
	case strings.HasSuffix(before, "<style>"):
		return func(s string) string { return s } // our own embedded style sheet
	case strings.HasSuffix(before, `href="`), strings.HasSuffix(before, `src="`):
		return func(s string) string { return escapeHTML(normalizeURL(s)) }
	default: // attribute values and text escape alike
		return escapeHTML
	}
}

// execute renders block name with the values of fields.
func execute(name string, fields map[string]string) string {
	var b strings.Builder
	for _, p := range templates()[name] {
		if p.escape == nil {
			b.WriteString(p.literal)
			continue
		}
		v, ok := fields[p.field]
		if !ok {
			panic(fmt.Sprintf("page.html: no value for {{.%s}}", p.field)) // caught by every test
		}
		b.WriteString(p.escape(v))
	}
	return b.String()
}

// escapeHTML escapes text and attribute values with html/template's own replacements.
func escapeHTML(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case 0:
			b.WriteString("\uFFFD")
		case '"':
			b.WriteString("&#34;")
		case '&':
			b.WriteString("&amp;")
		case '\'':
			b.WriteString("&#39;")
		case '+':
			b.WriteString("&#43;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// normalizeURL percent-encodes what may not stand in a URL, keeping existing escapes and the
// reserved characters, as html/template's URL normalizer does. Only http(s) URLs reach a page
// (Token refuses any other scheme) and data: URIs the package makes itself.
func normalizeURL(s string) string {
	const hexDigits = "0123456789abcdef" // lower case, as html/template writes them
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("!#$&*+,/:;=?@[]-._~", c) >= 0:
			b.WriteByte(c)
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]): // an escape already
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
