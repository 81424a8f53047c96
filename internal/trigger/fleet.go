package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"slices"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/fleet"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/strictjson"
)

// fleetAction is the fleet view: GET /fleet, {"action":"fleet"}.
const fleetAction = "fleet"

// decodeBare reads the message of an action that takes no parameter ({"action":"fleet"},
// {"action":"quota"}) as strictly as the others: its action and nothing else (an empty body
// is {} on the route).
func decodeBare(body []byte, action string) *share.Error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return invalid("body: must be a JSON object")
	}
	if dups := strictjson.DuplicateKeys(body); len(dups) > 0 {
		return invalid(dups[0] + ": given more than once")
	}
	var details []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		var got string
		switch {
		case k != "action":
			details = append(details, k+": unknown field (the "+action+" view takes no parameter)")
		case json.Unmarshal(m[k], &got) != nil || got != action:
			details = append(details, `action: must be "`+action+`"`)
		}
	}
	if len(details) > 0 {
		return invalid(details...)
	}
	return nil
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
