// Command bootstrap is envshare on AWS Lambda (provided.al2023, built with -tags lambda.norpc).
// It recognises each event by its shape, converts it, makes one call of the platform-neutral
// core in internal/trigger, and encodes the answer the way the event's source expects.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/envshare/envshare/internal/trigger"
)

func main() {
	h := handler{app: trigger.New(trigger.Options{Platform: trigger.PlatformAWS, Cloud: cloud()}), hide: hideRecord}
	// The configuration is in the environment already: the instance is wired while the runtime
	// client asks for the first invocation, which then finds it ready (or, if it failed, tries
	// again and answers why).
	go func() {
		growPrepareStack()
		h.app.Prepare(context.Background())
	}()
	growStack() // for the invocations this goroutine runs
	lambda.Start(h)
}

// Invoke is how aws-lambda-go calls the function (a lambda.Handler): the event's bytes in; out,
// the answer encoded as aws-lambda-go encodes a handler's value (JSON without HTML escaping), or
// the invocation's error. A Handler is called without the reflection and JSON decoder that a
// plain func goes through: about 4 % of a cold start under the RIE.
func (h handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	v, err := h.handle(ctx, payload)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil // Encode's newline, as aws-lambda-go drops it
}

type handler struct {
	app *trigger.App
	// hide makes the queue (by its ARN) deliver a received record again only after d
	// (ChangeMessageVisibility); nil: records are not hidden.
	hide func(ctx context.Context, queueARN, receiptHandle string, d time.Duration) error
}

// handle is the whole dispatch: event shape → one call of the core → the source's answer.
func (h handler) handle(ctx context.Context, payload json.RawMessage) (any, error) {
	switch kindOf(payload) {
	case kindSQS: // each record is one message; failures go to batchItemFailures
		return h.sqs(ctx, payload)
	case kindALB:
		return h.alb(ctx, payload)
	case kindHTTPAPI: // HTTP API payload 2.0
		return h.httpAPI(ctx, payload)
	case kindFunctionURL:
		return h.functionURL(ctx, payload)
	case kindREST: // REST API proxy (and HTTP API payload 1.0)
		return h.rest(ctx, payload)
	case kindScheduled: // EventBridge "Scheduled Event" without input: the configured manifest
		return trigger.Answer(h.app.Scheduled(invocation(ctx, trigger.TriggerSchedule)))
	default: // direct invoke, or EventBridge Scheduler / rule custom input: {"action": ...}
		return trigger.Answer(h.app.Message(invocation(ctx, trigger.TriggerDirect), payload))
	}
}
