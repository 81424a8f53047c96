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

// apiGatewayRequest is events.APIGatewayRequest plus the fields it lacks.
type apiGatewayRequest struct {
	events.APIGatewayRequest
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
	QueryStringParameters map[string]string `json:"queryStringParameters"`
}

// apiGateway answers an API Gateway trigger with {isBase64Encoded, statusCode, headers, body}.
func (h handler) apiGateway(ctx context.Context, payload []byte) (events.APIGatewayResponse, error) {
	var ev apiGatewayRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return events.APIGatewayResponse{}, fmt.Errorf("decode API Gateway event: %w", err)
	}
	query := map[string][]string(ev.QueryString)
	if len(query) == 0 {
		query = map[string][]string{}
		for k, v := range ev.QueryStringParameters {
			query[k] = []string{v}
		}
	}
	path := ev.Path
	if path == "" {
		path = ev.Context.Path
	}
	resp := h.app.HTTP(invocation(ctx, trigger.TriggerHTTP), trigger.HTTPRequest{
		Method: ev.Method, Path: path, Headers: ev.Headers, Query: query,
		Body: ev.Body, IsBase64Encoded: ev.IsBase64Encoded,
	})
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
