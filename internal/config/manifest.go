package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/envshare/envshare/pkg/share"
)

// LoadManifest reads ENVSHARE_MANIFEST: a value whose first non-space character is "{" is
// inline JSON, anything else a file path (relative paths from the working directory). The
// manifest is decoded like a reconcile body (share.Decode) and must have envs or customers
// (both may be given). An empty value
// means no manifest: (nil, nil). Errors are invalid_request *share.Errors whose details name
// ENVSHARE_MANIFEST (and the file) and the field.
func LoadManifest(value string) (*share.Request, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, nil
	}
	const name = Prefix + "_MANIFEST"
	body, where := []byte(value), name
	if value[0] != '{' {
		where = fmt.Sprintf("%s (file %s)", name, value)
		b, err := os.ReadFile(value)
		if err != nil {
			return nil, &share.Error{Code: share.CodeInvalidRequest, Message: name + " cannot be read",
				Details: []string{fmt.Sprintf("%s: cannot read: %v", where, pathCause(err))}}
		}
		body = b
	}
	req, err := share.Decode(body, share.ActionReconcile)
	var details []string
	if se, ok := errors.AsType[*share.Error](err); ok {
		details = se.Details
	} else if err != nil {
		return nil, err
	}
	// A decoded envs or customers is there: only a manifest without one is parsed again (a
	// million-pair manifest is megabytes, parsed once).
	given := req.Envs != nil || req.Customers != nil || hasField(body, "envs") || hasField(body, "customers")
	if !given && (len(details) == 0 || !strings.HasPrefix(details[0], "body: ")) {
		details = append(details, "envs or customers: required (at least one of them)")
	}
	if len(details) > 0 {
		for i := range details {
			details[i] = where + ": " + details[i]
		}
		return nil, &share.Error{Code: share.CodeInvalidRequest, Message: name + " is not a valid manifest", Details: details}
	}
	return &req, nil
}

// ConfiguredManifest loads ENVSHARE_MANIFEST as the function does at cold start: LoadManifest,
// and a manifest with customers needs ENVSHARE_LEDGER. (nil, nil) when it is unset. The build
// and deploy checks and the local tools call it too, so that they report the function's own
// message.
func (c Config) ConfiguredManifest() (*share.Request, error) {
	m, err := LoadManifest(c.Manifest)
	if err == nil && m != nil && m.Customers != nil && c.Ledger == "" {
		return nil, &share.Error{Code: share.CodeInvalidRequest, Message: Prefix + "_MANIFEST is not a valid manifest",
			Details: []string{Prefix + "_MANIFEST: customers: customers need ENVSHARE_LEDGER (the memory of which authorizer belongs to which customer)"}}
	}
	return m, err
}

// Explain writes an error for a person, as the tools print a configuration or manifest
// problem: an error object's message, then each detail on its own line after indent.
func Explain(err error, indent string) string {
	var se *share.Error
	if !errors.As(err, &se) {
		return err.Error()
	}
	return strings.Join(append([]string{se.Message}, se.Details...), "\n"+indent)
}

// hasField reports whether a JSON object has a non-null field name.
func hasField(body []byte, name string) bool {
	var top map[string]json.RawMessage
	_ = json.Unmarshal(body, &top)
	raw, ok := top[name]
	return ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// pathCause drops the path an *fs.PathError repeats (where already names the file).
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
