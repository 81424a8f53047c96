package share

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// LoadManifest reads ENVSHARE_MANIFEST: a value whose first non-space character is "{" is
// inline JSON, anything else a file path (relative paths from the working directory). The
// manifest is decoded like a reconcile body and must have envs. An empty value means no
// manifest: (nil, nil). Errors name ENVSHARE_MANIFEST and the field.
func LoadManifest(value string) (*Request, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, nil
	}
	const name = "ENVSHARE_MANIFEST"
	body, where := []byte(value), name
	if value[0] != '{' {
		where = fmt.Sprintf("%s (file %s)", name, value)
		b, err := os.ReadFile(value)
		if err != nil {
			return nil, &Error{Code: CodeInvalidRequest, Message: name + " cannot be read",
				Details: []string{fmt.Sprintf("%s: cannot read: %v", where, pathCause(err))}}
		}
		body = b
	}
	req, st, probs := decodeAndValidate(body, ActionReconcile)
	if !st.bad["body"] && !st.present["envs"] {
		probs.add("envs", "required")
	}
	if len(probs) > 0 {
		for i := range probs {
			probs[i] = where + ": " + probs[i]
		}
		return nil, probs.err(name + " is not a valid manifest")
	}
	req.valid = true
	return &req, nil
}

// pathCause drops the path an *fs.PathError repeats (where already names the file).
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
