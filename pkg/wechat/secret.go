package wechat

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/envshare/envshare/pkg/redact"
)

// Secret is a value WeChat hands out that must never be shown: an authorizer's refresh_token.
// It decodes from a JSON string, but every way of printing or encoding it shows redact.Mask
// ("[redacted]") instead of the value: fmt (every verb, inside structs and slices too),
// log/slog, encoding/json and encoding/text; it has no exported field for reflection-based
// encoders to read. Reveal returns the value, for the one place that needs it. An empty
// Secret (WeChat sent none) prints as "".
type Secret struct{ value string }

// NewSecret wraps a value.
func NewSecret(value string) Secret { return Secret{value} }

// Reveal returns the value itself. Never log it, put it in an error or store it unencrypted.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether there is no value (also for `json:",omitzero"`).
func (s Secret) IsZero() bool { return s.value == "" }

// String returns redact.Mask, or "" when there is no value.
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redact.Mask
}

// Format prints String for every verb, so that %v, %+v, %#v, %s, %q and %x of a Secret, or of
// a struct holding one, never show the value.
func (s Secret) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

// LogValue makes log/slog write String.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes String as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText writes String.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// errSecretNotString is the decoding error of a Secret; it never quotes the value.
var errSecretNotString = errors.New("a secret value is not a JSON string")

// UnmarshalJSON reads a JSON string (null: no value). Its error never quotes the input.
func (s *Secret) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = Secret{}
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return errSecretNotString
	}
	*s = Secret{v}
	return nil
}
