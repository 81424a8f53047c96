package share

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/envshare/envshare/pkg/wechat"
)

// Actions.
const (
	ActionShare     = "share"
	ActionUnshare   = "unshare"
	ActionBindings  = "bindings"
	ActionReconcile = "reconcile"
)

// Entry statuses.
const (
	StatusShared              = "shared"
	StatusPendingConfirmation = "pending_confirmation"
	StatusFailed              = "failed"
	StatusUnshared            = "unshared"
	StatusAlreadyShared       = "already_shared"
	StatusDeferred            = "deferred"
	StatusWouldShare          = "would_share"
	StatusWouldUnshare        = "would_unshare"
)

// Error codes (CONTRACT.md section 4).
const (
	CodeInvalidRequest      = "invalid_request"
	CodeUnauthorized        = "unauthorized"
	CodeNotFound            = "not_found"
	CodeMethodNotAllowed    = "method_not_allowed"
	CodePayloadTooLarge     = "payload_too_large"
	CodeRejected            = "rejected" // entry-level only
	CodeUpstreamError       = "upstream_error"
	CodeUpstreamUnavailable = "upstream_unavailable"
	CodeDeadlineExceeded    = "deadline_exceeded"
	CodeAuthNotConfigured   = "auth_not_configured"
	CodeInternal            = "internal"
)

// Shard selects a stable slice of a manifest's appids.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Request is the one flat body shared by HTTP routes, direct invocations, queue messages and
// timer messages. Which fields are allowed depends on Action (see Decode).
// Pointers tell "absent" from zero, so that a reconcile body can override the configured
// manifest only where it says so.
type Request struct {
	Action     string             `json:"action,omitempty"`
	Data       []wechat.EnvAppIDs `json:"data,omitempty"`
	Env        string             `json:"env,omitempty"`
	AppIDs     []string           `json:"appids,omitempty"`
	SourceType *int               `json:"source_type,omitempty"`
	Envs       []wechat.EnvAppIDs `json:"envs,omitempty"`
	Prune      *bool              `json:"prune,omitempty"`
	DryRun     *bool              `json:"dry_run,omitempty"`
	Shard      *Shard             `json:"shard,omitempty"`
}

// EntryError is why one (env, appid) entry failed.
type EntryError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Outcome is the fate of one distinct (env, appid) pair.
type Outcome struct {
	Env        string      `json:"env"`
	AppID      string      `json:"appid"`
	Status     string      `json:"status"`
	ConfirmURL string      `json:"confirm_url,omitempty"`
	Error      *EntryError `json:"error,omitempty"`
}

// Binding lists the envs an appid is bound to.
type Binding struct {
	AppID string   `json:"appid"`
	Envs  []string `json:"envs"`
}

// BindingError is an appid whose bindings could not be read.
type BindingError struct {
	AppID string     `json:"appid"`
	Error EntryError `json:"error"`
}

// Summary counts outcomes by status. It is an ordered list of counts so that every count of the
// action appears, zeros included, in a stable order; it encodes as a JSON object.
type Summary []Count

// Count is one named count of a Summary.
type Count struct {
	Name string
	N    int
}

// MarshalJSON encodes the summary as an object in its own order.
func (s Summary) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, c := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%d", c.Name, c.N)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// Get returns the count called name (0 when absent).
func (s Summary) Get(name string) int {
	for _, c := range s {
		if c.Name == name {
			return c.N
		}
	}
	return 0
}

// Notification reports the delivery of confirmation links to ENVSHARE_NOTIFY_URL.
type Notification struct {
	Sent  bool   `json:"sent"`
	Links int    `json:"links"`
	Error string `json:"error,omitempty"`
}

// Result is the answer of a processed request (CONTRACT.md section 4).
type Result struct {
	OK           bool           `json:"ok"`
	Action       string         `json:"action"`
	SourceType   int            `json:"source_type"`
	DryRun       bool           `json:"dry_run,omitempty"`
	Summary      Summary        `json:"summary,omitempty"`
	Results      []Outcome      `json:"results,omitempty"`
	Bindings     []Binding      `json:"bindings,omitempty"`
	Errors       []BindingError `json:"errors,omitempty"`
	Notification *Notification  `json:"notification,omitempty"`
}

// Error is a request that could not be processed: invalid input, or a whole request that
// failed upstream. It encodes as the contract's error object.
type Error struct {
	Code          string   `json:"code"`
	Message       string   `json:"message"`
	Details       []string `json:"details,omitempty"`
	WechatErrcode *int     `json:"wechat_errcode,omitempty"`
	WechatErrmsg  string   `json:"wechat_errmsg,omitempty"`
}

func (e *Error) Error() string {
	if len(e.Details) > 0 {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Message, strings.Join(e.Details, "; "))
	}
	return e.Code + ": " + e.Message
}

// HTTPStatus maps the error's code to its HTTP status.
func (e *Error) HTTPStatus() int {
	switch e.Code {
	case CodeInvalidRequest:
		return http.StatusBadRequest
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeNotFound:
		return http.StatusNotFound
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodePayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeUpstreamError:
		return http.StatusBadGateway
	case CodeUpstreamUnavailable:
		return http.StatusServiceUnavailable
	case CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	default:
		return http.StatusInternalServerError
	}
}

// Transient reports whether retrying the whole action later may succeed: the platform's
// async retry and dead-letter handling should then apply.
func (e *Error) Transient() bool {
	return e.Code == CodeUpstreamUnavailable || e.Code == CodeDeadlineExceeded
}

// ErrorBody is the contract's error object: {"ok": false, "error": {...}}.
type ErrorBody struct {
	OK    bool   `json:"ok"`
	Error *Error `json:"error"`
}
