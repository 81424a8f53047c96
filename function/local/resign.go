package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/envshare/envshare/pkg/signature"
)

// resign makes an HMAC-signed sample event valid at the real time. Its golden was checked at
// clock (unix seconds), so a sample signed at ts is sent with the timestamp now-(clock-ts),
// signed again with the same secret: exactly as fresh, or as stale, as in the tests. Only a
// signature that verifies at its own timestamp is re-signed; one that is wrong on purpose is
// sent as it is. note says what was done, for a person; it is empty for an unsigned event.
func resign(event []byte, secret string, clock int64, now time.Time) (out []byte, note string, err error) {
	var ev map[string]any
	dec := json.NewDecoder(bytes.NewReader(event))
	dec.UseNumber() // keep large numbers (timeEpoch) as they are
	if err := dec.Decode(&ev); err != nil {
		return event, "", nil // not an object: nothing signed; the function answers it
	}
	ts, sig := eventHeader(ev, signature.TimestampHeader), eventHeader(ev, signature.SignatureHeader)
	if ts == "" || sig == "" {
		return event, "", nil
	}
	signedAt, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	if err != nil {
		return event, "Note: the sample's X-Envshare-Timestamp is no number: sent as it is.", nil
	}
	req, ok := signedRequest(ev)
	if !ok || signature.VerifyRequest(secret, ts, sig, req, time.Unix(signedAt, 0)) != nil {
		return event, "Note: the sample's X-Envshare-Signature does not verify at its own timestamp: sent as it is.", nil
	}
	age := clock - signedAt
	newTS := now.Unix() - age
	setEventHeader(ev, signature.TimestampHeader, strconv.FormatInt(newTS, 10))
	setEventHeader(ev, signature.SignatureHeader, signature.SignRequest(secret, newTS, req))
	out, err = json.Marshal(ev)
	if err != nil {
		return nil, "", err
	}
	return out, fmt.Sprintf("Re-signed for the real clock: X-Envshare-Timestamp %d, %d s ago, as old as when the tests "+
		"checked the golden (the sample's own %d, at %d).", newTS, age, signedAt, clock), nil
}

// hmacRoutes are the routes under ENVSHARE_HTTP_AUTH, whose signature names the route.
var hmacRoutes = []string{"/share", "/unshare", "/bindings", "/reconcile", "/refresh", "/fleet"}

// signedRequest reads what an HTTP event's signature covers, from any platform's shape:
// HTTP API v2 and Function URL (requestContext.http.method, rawPath, rawQueryString), REST
// v1 and ALB (httpMethod, path, [multiValue]queryStringParameters), SCF API Gateway
// (httpMethod, path, queryString). A mistake here only means the check above fails.
func signedRequest(ev map[string]any) (signature.Request, bool) {
	var r signature.Request
	r.Method = str(ev["httpMethod"])
	if h, ok := at(ev, "requestContext", "http").(map[string]any); ok && r.Method == "" {
		r.Method = str(h["method"])
	}
	path := str(ev["rawPath"])
	if path == "" {
		path = str(ev["path"])
	}
	for _, route := range hmacRoutes {
		if strings.HasSuffix(strings.TrimRight(path, "/"), route) {
			r.Route = route
		}
	}
	if r.Method == "" || r.Route == "" {
		return r, false
	}
	r.Query = eventQuery(ev)
	if r.Method == "GET" {
		return r, true
	}
	body := str(ev["body"])
	if ev["isBase64Encoded"] == true {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return r, false
		}
		body = string(b)
	}
	r.Body = []byte(body)
	return r, true
}

// eventQuery returns an event's decoded query parameters.
func eventQuery(ev map[string]any) map[string][]string {
	if raw, ok := ev["rawQueryString"].(string); ok {
		q, _ := url.ParseQuery(raw)
		return q
	}
	q := map[string][]string{}
	for _, key := range []string{"multiValueQueryStringParameters", "queryStringParameters", "queryString"} {
		params, _ := ev[key].(map[string]any)
		for name, v := range params {
			switch v := v.(type) {
			case []any:
				for _, item := range v {
					q[name] = append(q[name], str(item))
				}
			default:
				q[name] = append(q[name], str(v))
			}
		}
		if len(q) > 0 {
			return q
		}
	}
	return q
}

// eventHeader returns a header of an HTTP event, its name matched case-insensitively in
// headers and multiValueHeaders; "" when absent.
func eventHeader(ev map[string]any, name string) string {
	if hs, ok := ev["headers"].(map[string]any); ok {
		for k, v := range hs {
			if strings.EqualFold(k, name) {
				return str(v)
			}
		}
	}
	if hs, ok := ev["multiValueHeaders"].(map[string]any); ok {
		for k, v := range hs {
			if vs, ok := v.([]any); ok && strings.EqualFold(k, name) && len(vs) > 0 {
				return str(vs[0])
			}
		}
	}
	return ""
}

// setEventHeader replaces a header's value wherever the event carries it.
func setEventHeader(ev map[string]any, name, value string) {
	if hs, ok := ev["headers"].(map[string]any); ok {
		for k := range hs {
			if strings.EqualFold(k, name) {
				hs[k] = value
			}
		}
	}
	if hs, ok := ev["multiValueHeaders"].(map[string]any); ok {
		for k := range hs {
			if strings.EqualFold(k, name) {
				hs[k] = []any{value}
			}
		}
	}
}

// at walks nested objects.
func at(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
