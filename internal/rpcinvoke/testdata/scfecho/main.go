// Command scfecho answers every event with the event and one environment variable.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"

	"github.com/tencentyun/scf-go-lib/cloudfunction"
)

func main() {
	cloudfunction.Start(func(ctx context.Context, event json.RawMessage) (any, error) {
		if string(event) == `"fail"` {
			return nil, errors.New("asked to fail")
		}
		return map[string]any{"event": event, "greeting": os.Getenv("GREETING")}, nil
	})
}
