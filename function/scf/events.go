package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tencentyun/scf-go-lib/events"
	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/envshare/envshare/internal/trigger"
)

// kind is an event shape.
type kind int

const (
	kindDirect kind = iota
	kindAPIGateway
	kindTimer
)

// shape holds the fields that tell the event sources apart.
type shape struct {
	HTTPMethod     string `json:"httpMethod"`
	Type           string `json:"Type"`
	RequestContext *struct {
		ServiceID string `json:"serviceId"`
		Path      string `json:"path"`
	} `json:"requestContext"`
}

// kindOf recognises an event by its shape. Anything unrecognised is a direct message, which the
// core validates (a message has none of these fields, since unknown fields are invalid).
func kindOf(payload []byte) kind {
	var s shape
	if json.Unmarshal(payload, &s) != nil {
		return kindDirect
	}
	switch {
	case s.HTTPMethod != "" && s.RequestContext != nil && (s.RequestContext.ServiceID != "" || s.RequestContext.Path != ""):
		return kindAPIGateway
	case s.Type == "Timer":
		return kindTimer
	default:
		return kindDirect
	}
}

// invocation puts the SCF request id and the trigger into ctx for the summary log line.
func invocation(ctx context.Context, trig string) context.Context {
	inv := trigger.Invocation{Trigger: trig}
	if fc, ok := functioncontext.FromContext(ctx); ok {
		inv.RequestID = fc.RequestID
	}
	return trigger.WithInvocation(ctx, inv)
}

// apiGatewayRequest is events.APIGatewayRequest with the fields it lacks, and its query read
// leniently (see query).
type apiGatewayRequest struct {
	Headers               map[string]string          `json:"headers"`
	Method                string                     `json:"httpMethod"`
	Path                  string                     `json:"path"`
	QueryString           map[string]json.RawMessage `json:"queryString"`
	QueryStringParameters map[string]string          `json:"queryStringParameters"`
	Body                  string                     `json:"body"`
	IsBase64Encoded       bool                       `json:"isBase64Encoded"`
	Context               struct {
		Path string `json:"path"`
	} `json:"requestContext"`
}

// query reads queryString, whose values SCF's API Gateway sends as a string, a list of
// strings, or true for a parameter without a value. A value of any other type, true included,
// keeps the parameter with no value, which is answered 400 naming it: never a decoding error.
func (ev apiGatewayRequest) query() map[string][]string {
	q := map[string][]string{}
	for k, raw := range ev.QueryString {
		var one string
		var list []string
		switch {
		case string(raw) == "null":
			q[k] = []string{}
		case json.Unmarshal(raw, &one) == nil:
			q[k] = []string{one}
		case json.Unmarshal(raw, &list) == nil && list != nil:
			q[k] = list
		default:
			q[k] = []string{}
		}
	}
	if len(q) == 0 {
		for k, v := range ev.QueryStringParameters {
			q[k] = []string{v}
		}
	}
	return q
}

// request is the platform-neutral request of ev.
func (ev *apiGatewayRequest) request() trigger.HTTPRequest {
	path := ev.Path
	if path == "" {
		path = ev.Context.Path
	}
	return trigger.HTTPRequest{
		Method: ev.Method, Path: path, Headers: ev.Headers, Query: ev.query(),
		Body: ev.Body, IsBase64Encoded: ev.IsBase64Encoded,
	}
}

// apiGateway answers an API Gateway trigger with {isBase64Encoded, statusCode, headers, body}.
func (h handler) apiGateway(ctx context.Context, payload []byte) (events.APIGatewayResponse, error) {
	_, resp := trigger.ServeHTTPEvent(invocation(ctx, trigger.TriggerHTTP), h.app, payload, (*apiGatewayRequest).request)
	return events.APIGatewayResponse{StatusCode: resp.Status, Headers: resp.Headers, Body: resp.Body}, nil
}

// timer runs a timer trigger: an empty Message reconciles the configured manifest; any other
// Message is a direct message (the trigger's "argument").
func (h handler) timer(ctx context.Context, payload []byte) (any, error) {
	var ev events.TimerEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("decode timer event: %w", err)
	}
	ctx = invocation(ctx, trigger.TriggerTimer)
	if strings.TrimSpace(ev.Message) == "" {
		return trigger.Answer(h.app.Scheduled(ctx))
	}
	return trigger.Answer(h.app.Message(ctx, []byte(ev.Message)))
}
