package eventtest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/envshare/envshare/pkg/share"
)

// CheckClass asserts the class of a fuzzed event's answer, on either cloud. The fuzz targets
// run with a valid configuration and a core that never fails, so bad input may only get a
// client error: an HTTP status below 500, a direct answer that is a result or
// invalid_request. The only invocation errors allowed are a refresh (which fails loudly by
// design: there is no state record) and an event of a shape whose answer cannot name what
// failed (an undecodable SQS batch).
func CheckClass(t *testing.T, payload []byte, answer any, err error) {
	t.Helper()
	if err != nil {
		if !strings.Contains(err.Error(), "refresh") && !strings.Contains(err.Error(), "decode SQS event") {
			t.Fatalf("invocation error %v for %q", err, payload)
		}
		return
	}
	b, mErr := json.Marshal(answer)
	if mErr != nil {
		t.Fatalf("answer does not encode: %v", mErr)
	}
	var got struct {
		StatusCode *int `json:"statusCode"`
		Error      *struct {
			Code share.Code `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &got)
	switch {
	case got.StatusCode != nil && *got.StatusCode >= 500:
		t.Fatalf("HTTP %d for %q: %s", *got.StatusCode, payload, b)
	case got.Error != nil && got.Error.Code != share.CodeInvalidRequest:
		t.Fatalf("error %s for %q", got.Error.Code, payload)
	}
}
