package storetest

import (
	"fmt"
	"net/http"
	"time"
)

// SigV4Error is a request whose signature AWS would refuse: its HTTP status, code and message.
type SigV4Error struct {
	Status        int
	Code, Message string
}

func (e *SigV4Error) Error() string {
	return fmt.Sprintf("HTTP status %d, %s: %s", e.Status, e.Code, e.Message)
}

// VerifySigV4 checks r's SigV4 signature of service (such as "dynamodb") as AWS does, against
// the test credentials and region: nil, or a *SigV4Error. A test proxy in front of an engine
// that does not check signatures (dynalite) uses it.
func VerifySigV4(r *http.Request, body []byte, service string) error {
	if status, code, msg := verifySigV4(r, body, service, time.Now()); code != "" {
		return &SigV4Error{Status: status, Code: code, Message: msg}
	}
	return nil
}
