package share

import (
	"bytes"
	"encoding/json"
)

// resultJSON is Result as the contract shows it: share, unshare and reconcile always carry
// "results", bindings always carries "bindings" and "errors" ([] when empty, never null).
type resultJSON struct {
	OK           bool            `json:"ok"`
	Action       string          `json:"action"`
	SourceType   int             `json:"source_type"`
	DryRun       bool            `json:"dry_run,omitempty"`
	Summary      Summary         `json:"summary,omitempty"`
	Results      *[]Outcome      `json:"results,omitempty"`
	Bindings     *[]Binding      `json:"bindings,omitempty"`
	Errors       *[]BindingError `json:"errors,omitempty"`
	Notification *Notification   `json:"notification,omitempty"`
}

// MarshalJSON encodes the result with the arrays its action always carries.
func (r Result) MarshalJSON() ([]byte, error) {
	out := resultJSON{OK: r.OK, Action: r.Action, SourceType: r.SourceType, DryRun: r.DryRun,
		Summary: r.Summary, Notification: r.Notification}
	if r.Action == ActionBindings {
		bindings, errs := nonNil(r.Bindings), nonNil(r.Errors)
		for i := range bindings {
			if bindings[i].Envs == nil { // copy before mending: r's slice is the caller's
				bindings = append([]Binding(nil), bindings...)
				for j := range bindings {
					bindings[j].Envs = nonNil(bindings[j].Envs)
				}
				break
			}
		}
		out.Bindings, out.Errors = &bindings, &errs
	} else {
		results := nonNil(r.Results)
		out.Results = &results
	}
	// Confirmation links carry '&': keep them readable rather than \u0026-escaped.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
