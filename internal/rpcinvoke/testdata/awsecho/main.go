// Command awsecho answers every event with the event, in aws-lambda-go's RPC mode.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, event json.RawMessage) (any, error) {
		return map[string]any{"event": event}, nil
	})
}
