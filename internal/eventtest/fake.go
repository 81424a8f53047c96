package eventtest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/share"
)

// FakeDoer stands in for the share service in the adapters' unit tests: it decodes each body
// as the service does, records the request and answers with Answer, or with an ok result of
// the request's action.
type FakeDoer struct {
	mu     sync.Mutex
	Reqs   []share.Request
	Answer func(req share.Request) (*share.Result, error)
}

// DoJSON decodes body, records the request and answers it.
func (f *FakeDoer) DoJSON(_ context.Context, body []byte, action string) (*share.Result, error) {
	req, err := share.Decode(body, action)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.Reqs = append(f.Reqs, req)
	answer := f.Answer
	f.mu.Unlock()
	if answer != nil {
		return answer(req)
	}
	return &share.Result{OK: true, Action: req.Action, SourceType: 1}, nil
}

// Quota answers the quota view: every API of share.QuotaAPIs with a quota of 10,000 untouched.
func (f *FakeDoer) Quota(context.Context) (*share.QuotaReport, error) {
	rep := &share.QuotaReport{OK: true, Action: share.ActionQuota}
	for _, a := range share.QuotaAPIs {
		rep.Quotas = append(rep.Quotas, share.APIQuota{API: a.Name, DailyLimit: 10_000, Remain: 10_000})
	}
	return rep, nil
}

// Requests returns the requests recorded so far.
func (f *FakeDoer) Requests() []share.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]share.Request(nil), f.Reqs...)
}

// NewFakeApp returns an App of platform whose core is a FakeDoer, with bearer auth (TestSecret)
// and its logs and metrics discarded; each of with may change its options.
func NewFakeApp(t *testing.T, platform string, with ...func(*trigger.Options)) (*trigger.App, *FakeDoer) {
	t.Helper()
	SetEnv(t, map[string]string{
		"ENVSHARE_COMPONENT_ACCESS_TOKEN": "tok",
		"ENVSHARE_HTTP_AUTH":              "bearer",
		"ENVSHARE_HTTP_SECRET":            TestSecret,
	})
	doer := &FakeDoer{}
	opts := trigger.Options{
		Platform:   platform,
		Logger:     slog.New(slog.DiscardHandler),
		MetricsOut: io.Discard,
		Build:      func(context.Context, config.Config) (*trigger.Core, error) { return &trigger.Core{Share: doer}, nil },
	}
	for _, w := range with {
		w(&opts)
	}
	return trigger.New(opts), doer
}

// AsMap encodes a handler's answer as the runtime would and decodes it into a map.
func AsMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

// CheckAppIDs hands payload to handle, an adapter's handler over a FakeDoer, and checks that the
// core was asked for exactly the appids want, or, with want nil, for nothing and answered 400.
func CheckAppIDs(t *testing.T, handle func(context.Context, json.RawMessage) (any, error), doer *FakeDoer, payload string, want []string) {
	t.Helper()
	v, err := handle(context.Background(), json.RawMessage(payload))
	if err != nil {
		t.Fatal(err)
	}
	reqs := doer.Requests()
	switch status := AsMap(t, v)["statusCode"]; {
	case want != nil && (len(reqs) != 1 || !slices.Equal(reqs[0].AppIDs, want)):
		t.Errorf("Doer saw %+v, want appids %v", reqs, want)
	case want == nil && (status != 400.0 || len(reqs) != 0):
		t.Errorf("status %v, Doer saw %+v; want 400 and no request", status, reqs)
	}
}
