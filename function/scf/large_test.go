package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/trigger"
)

// The largest answer the settings allow fits the 6,000,000 bytes SCF takes (issue 23 #1),
// counted as the bytes its runtime returns (scf-go-lib encodes the handler's value with
// json.Marshal, which escapes HTML), envelope included.
func TestTheLargestAnswersFitThePlatform(t *testing.T) {
	body := eventtest.LargeShareBody()
	quoted, _ := json.Marshal(body)
	for _, tc := range []struct{ name, payload string }{
		{"API Gateway", `{"httpMethod":"POST","path":"/release/share","requestContext":{"serviceId":"s"},` +
			`"headers":{"authorization":"Bearer envshare-test-secret"},"body":` + string(quoted) + `}`},
		{"a direct invocation", `{"action":"share",` + body[1:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := handler{app: eventtest.NewLargeAnswerApp(t, trigger.PlatformSCF)}
			v, err := h.handle(context.Background(), json.RawMessage(tc.payload))
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(v) // as scf-go-lib's runtime
			if err != nil {
				t.Fatal(err)
			}
			if len(out) > 6_000_000 {
				t.Fatalf("the runtime would return %d bytes, more than 6,000,000", len(out))
			}
			eventtest.CheckLargeAnswer(t, v)
		})
	}
}
