package share

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxDetails is how many problems one error lists; the rest are counted.
const maxDetails = 100

// fieldPath names a field the way every problem does: data[1].appids[3], shard.count. It is
// the one builder of paths, shared by the decoder (which records the paths whose JSON type was
// wrong) and the rules (which skip them), so the two always agree.
type fieldPath string

func (p fieldPath) index(i int) fieldPath { return p + "[" + fieldPath(strconv.Itoa(i)) + "]" }

func (p fieldPath) field(name string) fieldPath { return p + "." + fieldPath(name) }

// problems collects what is wrong with a request.
type problems []string

func (p *problems) add(path fieldPath, format string, args ...any) {
	*p = append(*p, string(path)+": "+fmt.Sprintf(format, args...))
}

// err is the invalid_request error listing the problems, or nil when there are none.
func (p problems) err(message string) error {
	if len(p) == 0 {
		return nil
	}
	details := []string(p)
	if len(details) > maxDetails {
		more := len(details) - maxDetails
		details = append(details[:maxDetails:maxDetails], fmt.Sprintf("... and %d more problem(s)", more))
	}
	return &Error{Code: CodeInvalidRequest, Message: message, Details: details}
}

// jsonProblem describes a JSON decoding error with its position and a short snippet.
func jsonProblem(body []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d near %s: %s", syn.Offset, snippet(body, syn.Offset),
			strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		return fmt.Sprintf("must be a JSON object, not %s", typ.Value)
	default:
		return "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
	}
}

// snippet quotes at most 20 bytes of body ending at offset.
func snippet(body []byte, offset int64) string {
	end := min(int(offset), len(body))
	start := max(0, end-20)
	return fmt.Sprintf("%q", body[start:end])
}

// quote quotes a value for a problem message, cut short so that a huge value is not echoed.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// quoteKey shows an unknown key as written when it is a plain name, else quoted.
func quoteKey(k string) fieldPath {
	for _, c := range k {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fieldPath(quote(k))
		}
	}
	if k == "" || len(k) > 40 {
		return fieldPath(quote(k))
	}
	return fieldPath(k)
}
