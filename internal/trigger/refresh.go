package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/envshare/envshare/internal/metrics"
	"github.com/envshare/envshare/internal/token"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/strictjson"
	"github.com/envshare/envshare/pkg/wechat"
)

// decodeRefresh reads a refresh body, {"action":"refresh","force":true}, as strictly as
// share.Decode reads the others: keys given twice and unknown fields are invalid. On the
// /refresh route the action may be left out.
func decodeRefresh(body []byte, route bool) (bool, *share.Error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return false, invalid("body: must be a JSON object")
	}
	if dups := strictjson.DuplicateKeys(body); len(dups) > 0 {
		return false, invalid(dups[0] + ": given more than once")
	}
	var details []string
	var force bool
	for _, k := range slices.Sorted(maps.Keys(m)) {
		switch k {
		case "action":
			var action string
			if json.Unmarshal(m[k], &action) != nil || action != refreshAction {
				details = append(details, `action: must be "refresh"`)
			}
		case "force":
			if json.Unmarshal(m[k], &force) != nil {
				details = append(details, "force: must be true or false")
			}
		default:
			details = append(details, k+": unknown field (a refresh takes action and force)")
		}
	}
	if _, ok := m["action"]; !ok && !route {
		details = append(details, "action: required")
	}
	if len(details) > 0 {
		return false, invalid(details...)
	}
	return force, nil
}

// refresh runs the one minter. Its failures name their cause (no state record: invalid_request;
// no ticket, a record that cannot be read or written: internal; WeChat refusing: its error).
func (a *App) refresh(ctx context.Context, inst *instance, force bool) (*token.RefreshResult, *share.Error) {
	if inst.cfg.External() {
		return nil, invalid("the token is owned externally (ENVSHARE_TOKEN_OWNER=external): the platform's backend mints it " +
			"and writes it where envshare reads it; envshare never mints (README, Running next to an existing backend)")
	}
	if inst.Refresher == nil {
		return nil, invalid("refresh needs ENVSHARE_STATE_ID: without a state record each instance mints its own token (README, Token lifecycle)")
	}
	res, err := inst.Refresher.Refresh(ctx, force)
	if err == nil {
		if res.TicketStored {
			metrics.From(ctx).SetTicketAge(time.Duration(res.TicketAgeS) * time.Second)
		}
		return res, nil
	}
	msg := share.Clip(a.secrets.String("refresh failed: " + err.Error()))
	metrics.From(ctx).Count(metrics.RefreshFailed)
	a.log.ErrorContext(ctx, "refresh failed", "error", msg)
	var api *wechat.APIError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return nil, &share.Error{Code: share.CodeDeadlineExceeded, Message: msg}
	case wechat.Classify(err) == wechat.Unavailable:
		return nil, &share.Error{Code: share.CodeUpstreamUnavailable, Message: msg}
	case errors.As(err, &api):
		code := api.Code
		return nil, &share.Error{Code: share.CodeUpstreamError, Message: fmt.Sprintf("WeChat %s answered errcode %d", api.Endpoint, code) + share.ErrcodeHint(code),
			WechatErrcode: &code, WechatErrmsg: share.Clip(a.secrets.String(api.Msg))}
	default:
		return nil, &share.Error{Code: share.CodeInternal, Message: msg}
	}
}
