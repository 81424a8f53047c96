package trigger

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"

	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/strictjson"
)

// messageField decodes one field of an internal message (onboard, forward) into its place and
// says what is wrong with it, if anything.
type messageField func(raw json.RawMessage) []string

// decodeMessage reads an internal message as strictly as the other messages: a JSON object, no
// key given twice, only the fields named (each decoded by its messageField, in key order), the
// required ones present. takes says, for an unknown field, what the message takes.
func decodeMessage(body []byte, fields map[string]messageField, required []string, takes string) *share.Error {
	body = bytes.TrimSpace(body)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return invalid("body: must be a JSON object")
	}
	if dups := strictjson.DuplicateKeys(body); len(dups) > 0 {
		return invalid(dups[0] + ": given more than once")
	}
	var details []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		decode, ok := fields[k]
		if !ok {
			details = append(details, k+": unknown field ("+takes+")")
			continue
		}
		details = append(details, decode(m[k])...)
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			details = append(details, k+": required")
		}
	}
	if len(details) > 0 {
		return invalid(details...)
	}
	return nil
}

// into is the messageField that decodes name into p ("wrong type" when it does not fit) and
// then asks check, when given, what is wrong with the value ("" for nothing).
func into[T any](name string, p *T, check func(T) string) messageField {
	return func(raw json.RawMessage) []string {
		if json.Unmarshal(raw, p) != nil {
			return []string{name + ": wrong type"}
		}
		if check != nil {
			if problem := check(*p); problem != "" {
				return []string{name + ": " + problem}
			}
		}
		return nil
	}
}
