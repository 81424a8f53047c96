package eventtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/tencentyun/scf-go-lib/functioncontext"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
)

// The unit tests both adapters (function/aws, function/scf) run alike.

// AWSAdapter is function/aws under test: its samples in events/aws, the Lambda context's
// request id, and handler, which returns the adapter's handler for an App.
func AWSAdapter(handler func(*trigger.App) Handler) Adapter {
	return Adapter{Dir: "../../events/aws", Platform: trigger.PlatformAWS, Handler: handler,
		Context: func(ctx context.Context, requestID string) context.Context {
			return lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: requestID})
		}}
}

// SCFAdapter is function/scf under test: its samples in events/scf, the SCF function context's
// request id, and handler, which returns the adapter's handler for an App.
func SCFAdapter(handler func(*trigger.App) Handler) Adapter {
	return Adapter{Dir: "../../events/scf", Platform: trigger.PlatformSCF, Handler: handler,
		Context: func(ctx context.Context, requestID string) context.Context {
			return functioncontext.NewContext(ctx, &functioncontext.FunctionContext{RequestID: requestID})
		}}
}

// Sample returns the sample event a.Dir/name.json.
func (a Adapter) Sample(t testing.TB, name string) []byte {
	t.Helper()
	return Must(os.ReadFile(filepath.Join(a.Dir, name+".json")))
}

// EachSample calls fn with the name (without .json) and payload of every sample of a.Dir.
func (a Adapter) EachSample(t testing.TB, fn func(name string, payload []byte)) {
	t.Helper()
	for _, path := range Samples(t, a.Dir) {
		fn(strings.TrimSuffix(filepath.Base(path), ".json"), Must(os.ReadFile(path)))
	}
}

// RoundTrip decodes each sample into a new value of its event type (events maps a sample's
// name to the type's constructor), encodes it and decodes it again: nothing may be lost or
// changed, and the event must not decode to its zero value.
func (a Adapter) RoundTrip(t *testing.T, events map[string]func() any) {
	for sample, newEvent := range events {
		t.Run(sample, func(t *testing.T) {
			first, second := newEvent(), newEvent()
			if err := json.Unmarshal(a.Sample(t, sample), first); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(Must(json.Marshal(first)), second); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(first, second) || reflect.ValueOf(first).Elem().IsZero() {
				t.Errorf("round trip changed the event:\n%+v\n%+v", first, second)
			}
		})
	}
}

// Fuzz fuzzes the adapter's handler over a core that answers every request (FakeDoer), seeded
// with every sample and seeds: whatever the payload, the handler neither panics nor answers a
// non-JSON value (CheckClass).
func (a Adapter) Fuzz(f *testing.F, seeds ...[]byte) {
	a.EachSample(f, func(_ string, payload []byte) { f.Add(payload) })
	for _, s := range seeds {
		f.Add(s)
	}
	f.Setenv("ENVSHARE_COMPONENT_ACCESS_TOKEN", "tok")
	f.Setenv("ENVSHARE_HTTP_AUTH", "none")
	app := trigger.New(trigger.Options{Platform: a.Platform, Logger: slog.New(slog.DiscardHandler), MetricsOut: io.Discard,
		Build: func(context.Context, config.Config) (*trigger.Core, error) {
			return &trigger.Core{Share: &FakeDoer{}}, nil
		}})
	handle := a.Handler(app)
	f.Fuzz(func(t *testing.T, payload []byte) {
		v, err := handle(context.Background(), payload)
		CheckClass(t, payload, v, err)
	})
}

// Must returns v, or panics with err: for what a test cannot do without.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// LargeAnswer is one event that carries the large share (LargeShareBody) to an adapter, and
// the most bytes its source takes as an answer.
type LargeAnswer struct {
	Name, Payload string
	Limit         int
}

// DirectInvocationLimit is the most bytes both platforms return from a synchronous invocation.
const DirectInvocationLimit = 6_000_000

// CheckLargeAnswers runs each event, and the large share as a direct invocation, through the
// adapter's handler over NewLargeAnswerApp. Each answer, encoded as the platform's runtime
// does (encode), fits its limit, envelope included, and lists some entries (CheckLargeAnswer).
func (a Adapter) CheckLargeAnswers(t *testing.T, encode func(any) ([]byte, error), events []LargeAnswer) {
	direct := LargeAnswer{"a direct invocation", `{"action":"share",` + LargeShareBody()[1:], DirectInvocationLimit}
	for _, ev := range append(events, direct) {
		t.Run(ev.Name, func(t *testing.T) {
			v, err := a.Handler(NewLargeAnswerApp(t, a.Platform))(context.Background(), json.RawMessage(ev.Payload))
			if err != nil {
				t.Fatal(err)
			}
			out, err := encode(v)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) > ev.Limit {
				t.Fatalf("the runtime would return %d bytes, more than %d", len(out), ev.Limit)
			}
			CheckLargeAnswer(t, v)
		})
	}
}

// The largest answers: a share of LargeShareAppIDs appids, each pending confirmation with a link
// of the length WeChat's have (222 bytes) and a confirmation page, listed whole when
// ENVSHARE_MAX_RESULTS allows it (10,000).
const LargeShareAppIDs = 10_000

// LargeShareBody is the body of that share.
func LargeShareBody() string {
	ids := make([]string, LargeShareAppIDs)
	for i := range ids {
		ids[i] = AppID(i)
	}
	b, _ := json.Marshal(map[string]any{"env": "prod-6gni9ity244a6ea3", "appids": ids})
	return string(b)
}

// AppID is the i-th appid of the large answers.
func AppID(i int) string { return fmt.Sprintf("wx%016x", i) }

// NewLargeAnswerApp returns an App of platform whose core is the real share service over a
// WeChat that asks for confirmation of every pair, with confirmation pages and
// ENVSHARE_MAX_RESULTS=10000: the largest answers the settings allow.
func NewLargeAnswerApp(t *testing.T, platform string) *trigger.App {
	t.Helper()
	SetEnv(t, map[string]string{
		"ENVSHARE_COMPONENT_ACCESS_TOKEN": "tok",
		"ENVSHARE_HTTP_AUTH":              "bearer",
		"ENVSHARE_HTTP_SECRET":            TestSecret,
	})
	page := "https://k7m2p9q4r1.execute-api.ap-east-1.amazonaws.com/confirm/" + strings.Repeat("AbCd", 102)[:406]
	return trigger.New(trigger.Options{
		Platform:   platform,
		Logger:     slog.New(slog.DiscardHandler),
		MetricsOut: io.Discard,
		Build: func(context.Context, config.Config) (*trigger.Core, error) {
			return &trigger.Core{Share: share.New(confirmingWeChat{}, share.Options{MaxResults: 10_000,
				ConfirmPage: func(share.Outcome) string { return page }})}, nil
		},
	})
}

// confirmingWeChat answers every share with a link of the real length for every appid.
type confirmingWeChat struct{}

func (confirmingWeChat) ShareEnv(_ context.Context, req *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error) {
	resp := &wechat.ShareEnvResponse{}
	for _, d := range req.Data {
		for _, a := range d.AppIDs {
			l := "https://mp.weixin.qq.com/wxopen/cloudbase/shareconfirm?appid=" + a + "&env=" + d.Env + "&ticket="
			resp.MsgInfoList = append(resp.MsgInfoList, wechat.MsgInfo{AppID: a, URL: l + strings.Repeat("Ab3", 80)[:222-len(l)]})
		}
	}
	return resp, nil
}

func (confirmingWeChat) UnshareEnv(context.Context, *wechat.ShareEnvRequest) (*wechat.UnshareEnvResponse, error) {
	return &wechat.UnshareEnvResponse{}, nil
}

func (confirmingWeChat) GetEnvID(context.Context, *wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error) {
	return &wechat.GetEnvIDResponse{}, nil
}

// CheckLargeAnswer makes sure v, a handler's answer to the large share (an HTTP envelope or the
// result itself), lists some entries and counts the others as left out.
func CheckLargeAnswer(t *testing.T, v any) {
	t.Helper()
	m := AsMap(t, v)
	if b, ok := m["body"].(string); ok {
		m = nil
		if err := json.Unmarshal([]byte(b), &m); err != nil {
			t.Fatal(err)
		}
	}
	results, _ := m["results"].([]any)
	omitted, _ := m["results_omitted"].(float64)
	if len(results) == 0 || omitted == 0 || len(results)+int(omitted) != LargeShareAppIDs {
		t.Fatalf("%d results listed, %v omitted, want some of each, %d in all", len(results), omitted, LargeShareAppIDs)
	}
}
