package wxcrypt

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// MaxAhead is how far ahead of the receiver's clock a push's CreateTime may be (the contract's
// section 5, "The clock"): a push from further ahead is never stored or acted on, and a time
// recorded from further ahead never counts as newer, so that a ticket or an event from the
// future can never lock out genuine ones.
const MaxAhead = 5 * time.Minute

// TooFarAhead reports whether created is more than MaxAhead after now.
func TooFarAhead(created, now time.Time) bool { return created.Sub(now) > MaxAhead }

// InfoType values of the authorization events.
const (
	InfoComponentVerifyTicket = wechat.InfoComponentVerifyTicket
	InfoAuthorized            = wechat.InfoAuthorized
	InfoUpdateAuthorized      = wechat.InfoUpdateAuthorized
	InfoUnauthorized          = wechat.InfoUnauthorized
)

// Event holds the fields of the authorization events; ParseEvent maps WeChat's XML names to them.
type Event = wechat.Event

// ParseEvent reads an event from a decrypted message. A message that is not a flat <xml>
// document, has a number field that is not a number, or has no InfoType is ErrMalformed.
// Errors never quote the message.
func ParseEvent(message []byte) (Event, error) {
	f, err := readFlat(message)
	if err != nil {
		return Event{}, err
	}
	ev := Event{AppID: f["AppId"], InfoType: f["InfoType"], ComponentVerifyTicket: f["ComponentVerifyTicket"],
		AuthorizerAppID: f["AuthorizerAppid"], AuthorizationCode: f["AuthorizationCode"], PreAuthCode: f["PreAuthCode"]}
	for name, p := range map[string]*int64{"CreateTime": &ev.CreateTime, "AuthorizationCodeExpiredTime": &ev.AuthorizationCodeExpiredTime} {
		if v, ok := f[name]; ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return Event{}, fmt.Errorf("%w: %s is not a number", ErrMalformed, name)
			}
			*p = n
		}
	}
	if ev.InfoType == "" {
		return Event{}, fmt.Errorf("%w: event has no InfoType", ErrMalformed)
	}
	return ev, nil
}
