package wxcrypt

import (
	"encoding/xml"
	"fmt"
)

// InfoType values of the authorization events.
const (
	InfoComponentVerifyTicket = "component_verify_ticket"
	InfoAuthorized            = "authorized"
	InfoUpdateAuthorized      = "updateauthorized"
	InfoUnauthorized          = "unauthorized"
)

// Event holds the fields of the authorization events, as WeChat names them in the XML.
// Each InfoType fills its own fields and leaves the others zero:
//
//	component_verify_ticket  ComponentVerifyTicket
//	authorized               AuthorizerAppID, AuthorizationCode, AuthorizationCodeExpiredTime, PreAuthCode
//	updateauthorized         the same as authorized
//	unauthorized             AuthorizerAppID
type Event struct {
	AppID                        string `xml:"AppId"` // the platform's appid
	CreateTime                   int64  `xml:"CreateTime"`
	InfoType                     string `xml:"InfoType"`
	ComponentVerifyTicket        string `xml:"ComponentVerifyTicket"`
	AuthorizerAppID              string `xml:"AuthorizerAppid"` // the Mini Program
	AuthorizationCode            string `xml:"AuthorizationCode"`
	AuthorizationCodeExpiredTime int64  `xml:"AuthorizationCodeExpiredTime"` // Unix seconds
	PreAuthCode                  string `xml:"PreAuthCode"`
}

// ParseEvent reads an event from a decrypted message. A message that is not <xml>, has a
// number field that is not a number, or has no InfoType is ErrMalformed.
func ParseEvent(message []byte) (Event, error) {
	var doc struct {
		XMLName xml.Name `xml:"xml"`
		Event
	}
	// The xml error is not wrapped: its text may quote decrypted content.
	if err := xml.Unmarshal(message, &doc); err != nil {
		return Event{}, fmt.Errorf("%w: event is not <xml> with WeChat's fields", ErrMalformed)
	}
	if doc.InfoType == "" {
		return Event{}, fmt.Errorf("%w: event has no InfoType", ErrMalformed)
	}
	return doc.Event, nil
}
