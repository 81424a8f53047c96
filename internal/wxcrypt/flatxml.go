package wxcrypt

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// maxFlatXML bounds the documents readFlat parses: it reads unauthenticated push bodies
// before the signature check. WeChat's pushes and events are under 2 KiB.
const maxFlatXML = 64 << 10

// readFlat returns the fields of a flat <xml> document, as WeChat's pushes and events are:
// <xml>, then one element per field, each holding text or <![CDATA[text]]>. encoding/xml
// reads it; on top, anything but that form (nesting, attributes, a field given twice, a
// comment or directive, text between fields, a second document) is ErrMalformed, so the
// depth stays at two. Errors never quote the document (encoding/xml's may).
func readFlat(doc []byte) (map[string]string, error) {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrMalformed, why) }
	if len(doc) > maxFlatXML {
		return nil, bad("larger than 64 KiB")
	}
	d := xml.NewDecoder(bytes.NewReader(doc)) // Strict: the five named entities only
	fields := map[string]string{}
	var field string // the field being read
	var text bytes.Buffer
	depth, root := 0, false
	for {
		tok, err := d.Token()
		switch {
		case errors.Is(err, io.EOF) && root && depth == 0:
			return fields, nil
		case err != nil || tok == nil:
			return nil, bad("not a well-formed <xml> document")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case len(t.Attr) > 0:
				return nil, bad("an element has attributes")
			case depth == 1 && (root || t.Name != xml.Name{Local: "xml"}):
				return nil, bad("not one <xml> document")
			case depth == 2 && t.Name.Space != "", depth > 2:
				return nil, bad("an element holds another")
			}
			root, field = true, t.Name.Local
			text.Reset()
		case xml.EndElement:
			if depth == 2 {
				if _, dup := fields[field]; dup {
					return nil, bad("a field is given twice")
				}
				fields[field] = text.String()
			}
			depth--
		case xml.CharData:
			if depth == 2 {
				text.Write(t)
			} else if len(bytes.Trim(t, " \t\r\n")) > 0 {
				return nil, bad("text outside a field")
			}
		case xml.ProcInst:
			if t.Target != "xml" || root { // only the XML declaration, before the document
				return nil, bad("a processing instruction")
			}
		default: // comments and directives (<!DOCTYPE ...>)
			return nil, bad("a comment or directive")
		}
	}
}

// envelope is a push body: <xml><AppId><![CDATA[…]]></AppId><Encrypt><![CDATA[…]]></Encrypt></xml>.
type envelope struct {
	XMLName xml.Name `xml:"xml"`
	AppID   cdata    `xml:"AppId"`
	Encrypt cdata    `xml:"Encrypt"`
}

// cdata is a field written as <![CDATA[…]]>, as WeChat writes its fields.
type cdata struct {
	Text string `xml:",cdata"`
}
