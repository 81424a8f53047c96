package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/envshare/envshare/internal/trigger"
)

// kind is an event shape.
type kind int

const (
	kindDirect kind = iota
	kindSQS
	kindALB
	kindHTTPAPI
	kindFunctionURL
	kindREST
	kindScheduled
)

// shape holds the fields that tell the event sources apart.
type shape struct {
	Records []struct {
		EventSource string `json:"eventSource"`
	} `json:"Records"`
	Version        string `json:"version"`
	HTTPMethod     string `json:"httpMethod"`
	Source         string `json:"source"`
	DetailType     string `json:"detail-type"`
	RequestContext *struct {
		ELB        json.RawMessage `json:"elb"`
		HTTP       json.RawMessage `json:"http"`
		DomainName string          `json:"domainName"`
	} `json:"requestContext"`
}

// kindOf recognises an event by its shape. Anything unrecognised is a direct message, which the
// core validates (a message has none of these fields, since unknown fields are invalid).
func kindOf(payload []byte) kind {
	var s shape
	if json.Unmarshal(payload, &s) != nil {
		return kindDirect
	}
	rc := s.RequestContext
	switch {
	case len(s.Records) > 0 && s.Records[0].EventSource == "aws:sqs":
		return kindSQS
	case rc != nil && len(rc.ELB) > 0:
		return kindALB
	case s.Version == "2.0" && rc != nil && len(rc.HTTP) > 0:
		if strings.Contains(rc.DomainName, ".lambda-url.") {
			return kindFunctionURL
		}
		return kindHTTPAPI
	case s.HTTPMethod != "" && rc != nil:
		return kindREST
	case s.Source == "aws.events" && s.DetailType == "Scheduled Event":
		return kindScheduled
	default:
		return kindDirect
	}
}

// invocation puts the Lambda request id and the trigger into ctx for the summary log line.
func invocation(ctx context.Context, trig string) context.Context {
	return trigger.WithInvocation(ctx, trigger.Invocation{RequestID: requestID(ctx), Trigger: trig})
}

func requestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}

// sqs carries out each record and reports the failed ones (invalid, or whose whole action
// failed) so that the queue's redrive policy applies to them only. A record whose action was
// carried out is done, even when WeChat rejected some entries. A record stopped by WeChat's
// daily quota is also hidden until the quota resets (App.Postpone), so that the queue does not
// deliver it again before then. On a FIFO queue the records after a failure are not
// attempted, to keep the order of a message group.
func (h handler) sqs(ctx context.Context, payload []byte) (events.SQSEventResponse, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return events.SQSEventResponse{}, fmt.Errorf("decode SQS event: %w", err)
	}
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	fail := func(r events.SQSMessage) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
	}
	for _, r := range ev.Records {
		if len(resp.BatchItemFailures) > 0 && strings.HasSuffix(r.EventSourceARN, ".fifo") {
			fail(r)
			continue
		}
		rctx := trigger.WithInvocation(ctx, trigger.Invocation{RequestID: requestID(ctx), Trigger: trigger.TriggerSQS, MessageID: r.MessageId})
		if _, err := h.app.Message(rctx, []byte(r.Body)); err != nil {
			if h.hide != nil {
				h.app.Postpone(rctx, err, func(ctx context.Context, d time.Duration) error {
					return h.hide(ctx, r.EventSourceARN, r.ReceiptHandle, d)
				})
			}
			fail(r)
		}
	}
	return resp, nil
}

// restResponse is events.APIGatewayProxyResponse with isBase64Encoded always present (the
// library omits false) and without a null multiValueHeaders.
type restResponse struct {
	events.APIGatewayProxyResponse
	MultiValueHeaders map[string][]string `json:"multiValueHeaders,omitempty"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

func (h handler) rest(ctx context.Context, payload []byte) (restResponse, error) {
	_, resp := trigger.ServeHTTPEvent(invocation(ctx, trigger.TriggerHTTP), h.app, payload, restRequest)
	return restResponse{APIGatewayProxyResponse: events.APIGatewayProxyResponse{
		StatusCode: resp.Status, Headers: resp.Headers, Body: resp.Body}}, nil
}

// restRequest is the platform-neutral request of a REST API (or HTTP API 1.0) event.
func restRequest(ev *events.APIGatewayProxyRequest) trigger.HTTPRequest {
	path := ev.Path
	if path == "" {
		path = ev.RequestContext.Path
	}
	return trigger.HTTPRequest{
		Method: ev.HTTPMethod, Path: path,
		Headers: ev.Headers, MultiValueHeaders: ev.MultiValueHeaders,
		Query: queryOf(ev.MultiValueQueryStringParameters, ev.QueryStringParameters),
		Body:  ev.Body, IsBase64Encoded: ev.IsBase64Encoded,
	}
}

// httpAPIResponse is events.APIGatewayV2HTTPResponse with isBase64Encoded always present and
// without null multiValueHeaders and cookies.
type httpAPIResponse struct {
	events.APIGatewayV2HTTPResponse
	MultiValueHeaders map[string][]string `json:"multiValueHeaders,omitempty"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
	Cookies           []string            `json:"cookies,omitempty"`
}

func (h handler) httpAPI(ctx context.Context, payload []byte) (httpAPIResponse, error) {
	resp := h.formatV2(ctx, payload)
	return httpAPIResponse{APIGatewayV2HTTPResponse: events.APIGatewayV2HTTPResponse{
		StatusCode: resp.Status, Headers: resp.Headers, Body: resp.Body}}, nil
}

// functionURLResponse is events.LambdaFunctionURLResponse without null cookies.
type functionURLResponse struct {
	events.LambdaFunctionURLResponse
	Cookies []string `json:"cookies,omitempty"`
}

func (h handler) functionURL(ctx context.Context, payload []byte) (functionURLResponse, error) {
	resp := h.formatV2(ctx, payload)
	return functionURLResponse{LambdaFunctionURLResponse: events.LambdaFunctionURLResponse{
		StatusCode: resp.Status, Headers: resp.Headers, Body: resp.Body}}, nil
}

// formatV2 answers payload format 2.0, which HTTP API and Function URL events share (a Function
// URL's event has the same schema, and the fields read here the same names and types). The raw
// query string is read first: it keeps repeated parameters apart (queryStringParameters joins
// them with commas), as the client signed them; the parameters are the fallback.
func (h handler) formatV2(ctx context.Context, payload []byte) trigger.HTTPResponse {
	_, resp := trigger.ServeHTTPEvent(invocation(ctx, trigger.TriggerHTTP), h.app, payload, formatV2Request)
	return resp
}

// formatV2Request is the platform-neutral request of a payload format 2.0 event.
func formatV2Request(ev *events.APIGatewayV2HTTPRequest) trigger.HTTPRequest {
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	q, err := url.ParseQuery(ev.RawQueryString)
	if ev.RawQueryString == "" || err != nil {
		q = queryOf(nil, ev.QueryStringParameters)
	}
	return trigger.HTTPRequest{Method: ev.RequestContext.HTTP.Method, Path: path,
		Headers: ev.Headers, Query: q, Body: ev.Body, IsBase64Encoded: ev.IsBase64Encoded}
}

// albResponse is events.ALBTargetGroupResponse without a null multiValueHeaders.
type albResponse struct {
	events.ALBTargetGroupResponse
	MultiValueHeaders map[string][]string `json:"multiValueHeaders,omitempty"`
}

// alb answers an Application Load Balancer request. ALB passes the query string undecoded,
// and wants multiValueHeaders in the answer when the target group has them enabled, which
// the request shows.
func (h handler) alb(ctx context.Context, payload []byte) (albResponse, error) {
	ev, resp := trigger.ServeHTTPEvent(invocation(ctx, trigger.TriggerHTTP), h.app, payload, albRequest)
	out := albResponse{ALBTargetGroupResponse: events.ALBTargetGroupResponse{
		StatusCode:        resp.Status,
		StatusDescription: fmt.Sprintf("%d %s", resp.Status, http.StatusText(resp.Status)),
		Headers:           resp.Headers,
		Body:              resp.Body,
	}}
	if ev.MultiValueHeaders != nil {
		out.MultiValueHeaders = map[string][]string{}
		for k, v := range resp.Headers {
			out.MultiValueHeaders[k] = []string{v}
		}
	}
	return out, nil
}

// albRequest is the platform-neutral request of ev, its query decoded (ALB passes it undecoded).
func albRequest(ev *events.ALBTargetGroupRequest) trigger.HTTPRequest {
	query := map[string][]string{}
	for k, vs := range queryOf(ev.MultiValueQueryStringParameters, ev.QueryStringParameters) {
		k = unescape(k)
		query[k] = []string{} // an empty value list stays one: answered 400, naming k
		for _, v := range vs {
			query[k] = append(query[k], unescape(v))
		}
	}
	return trigger.HTTPRequest{
		Method: ev.HTTPMethod, Path: ev.Path,
		Headers: ev.Headers, MultiValueHeaders: ev.MultiValueHeaders,
		Query: query, Body: ev.Body, IsBase64Encoded: ev.IsBase64Encoded,
		AnswerLimit: trigger.ALBAnswerLimit,
	}
}

// queryOf prefers the multi-value parameters when the event has them. A parameter whose value
// list is empty or null stays, with no value: it is answered 400, naming the parameter.
func queryOf(multi map[string][]string, single map[string]string) map[string][]string {
	if len(multi) > 0 {
		q := make(map[string][]string, len(multi))
		for k, vs := range multi {
			q[k] = append([]string{}, vs...)
		}
		return q
	}
	q := make(map[string][]string, len(single))
	for k, v := range single {
		q[k] = []string{v}
	}
	return q
}

// unescape decodes one query component as ALB sent it; an undecodable one stays as it is.
func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
