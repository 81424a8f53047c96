package trigger

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/fleet"
	"github.com/envshare/envshare/pkg/share"
)

// fleetAction is the fleet view: GET /fleet, {"action":"fleet"}.
const fleetAction = "fleet"

// decodeBare reads the message of an action that takes no parameter ({"action":"fleet"},
// {"action":"quota"}) as strictly as the others: its action and nothing else (an empty body
// is {} on the route).
func decodeBare(body []byte, action string) *share.Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decodeMessage(body, map[string]messageField{"action": func(raw json.RawMessage) []string {
		var got string
		if json.Unmarshal(raw, &got) != nil || got != action {
			return []string{`action: must be "` + action + `"`}
		}
		return nil
	}}, nil, "the "+action+" view takes no parameter")
}

// view answers one of the function's read-only views: the fleet (the ledger's, no WeChat call)
// or the quota (WeChat's quota/get). It never returns a typed nil as the answer.
func (a *App) view(ctx context.Context, inst *instance, action string) (any, *share.Error) {
	var v any
	var se *share.Error
	switch action {
	case fleetAction:
		v, se = a.fleetView(ctx, inst)
	case quotaAction:
		v, se = a.quotaView(ctx, inst)
	default:
		return nil, internalError()
	}
	if se != nil {
		return nil, se
	}
	return v, nil
}

// fleetView answers the fleet view from the ledger and ENVSHARE_MANIFEST, without a WeChat
// call. Without a ledger, or with a bad manifest, it is invalid_request naming what is missing.
func (a *App) fleetView(ctx context.Context, inst *instance) (*fleet.View, *share.Error) {
	switch {
	case inst.Fleet == nil:
		return nil, invalid("the fleet view needs ENVSHARE_LEDGER: without a ledger the function keeps no memory of the fleet")
	case inst.ManifestErr != nil:
		return nil, inst.ManifestErr
	}
	var customers []share.Customer
	if inst.Manifest != nil {
		customers = inst.Manifest.Customers
	}
	v, err := inst.Fleet.View(ctx, customers)
	if err != nil {
		a.log.ErrorContext(ctx, "fleet view: the ledger cannot be read", "error", a.secrets.String(err.Error()))
		return nil, &share.Error{Code: share.CodeInternal, Message: "the ledger (" + config.Prefix + "_LEDGER) cannot be read; see the function's log"}
	}
	return v, nil
}
