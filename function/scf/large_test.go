package main

import (
	"encoding/json"
	"testing"

	"github.com/envshare/envshare/internal/eventtest"
)

// The largest answer the settings allow fits the 6,000,000 bytes SCF takes (issue 23 #1),
// counted as the bytes its runtime returns (scf-go-lib encodes the handler's value with
// json.Marshal, which escapes HTML), envelope included.
func TestTheLargestAnswersFitThePlatform(t *testing.T) {
	quoted, _ := json.Marshal(eventtest.LargeShareBody())
	adapter.CheckLargeAnswers(t, json.Marshal, []eventtest.LargeAnswer{{Name: "API Gateway",
		Payload: `{"httpMethod":"POST","path":"/release/share","requestContext":{"serviceId":"s"},` +
			`"headers":{"authorization":"Bearer envshare-test-secret"},"body":` + string(quoted) + `}`,
		Limit: 6_000_000}})
}
