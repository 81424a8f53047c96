package trigger

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/metrics"
	"github.com/envshare/envshare/internal/testkit"
	"github.com/envshare/envshare/internal/wxcrypt"
	"github.com/envshare/envshare/pkg/wxemu"
)

// alarmed returns the values of the metric name (no dimension, or the dimensions dims) in the
// EMF lines written so far.
func alarmed(t *testing.T, emf *testkit.Buffer, name string, dims ...string) []float64 {
	t.Helper()
	var values []float64
	for line := range strings.Lines(emf.String()) {
		points, err := metrics.Datapoints([]byte(line))
		if err != nil {
			t.Fatalf("an EMF line CloudWatch would not read: %v\n%s", err, line)
		}
		for _, p := range points {
			if p.Name == name && slices.Equal(slices.Sorted(maps.Keys(p.Dimensions)), dims) {
				values = append(values, p.Value)
			}
		}
	}
	return values
}

// errorLine returns the first ERROR log line whose message starts with msg.
func errorLine(t *testing.T, logs *testkit.Buffer, msg string) map[string]any {
	t.Helper()
	for _, l := range logs.Lines(t) {
		if m, _ := l["msg"].(string); l["level"] == "ERROR" && strings.HasPrefix(m, msg) {
			return l
		}
	}
	t.Fatalf("no ERROR line %q in\n%s", msg, logs.String())
	return nil
}

func TestARefusedPushIsLoud(t *testing.T) {
	ticket := wxcrypt.Event{InfoType: wxcrypt.InfoComponentVerifyTicket, ComponentVerifyTicket: "ticket@@@loud-test-value"}
	tests := []struct {
		name   string
		env    map[string]string
		mutate func(q map[string][]string, body *string)
		reason string
	}{
		{"another message token", nil, func(q map[string][]string, _ *string) { q["msg_signature"] = []string{strings.Repeat("0", 40)} }, "bad_signature"},
		{"another EncodingAESKey (or a message that is no push)", nil, func(q map[string][]string, b *string) {
			*b = "<xml><Encrypt>AAAA</Encrypt></xml>"
			q["msg_signature"] = []string{wxcrypt.Signature(loopMsgToken, "1700000000", "nonce1", "AAAA")}
		}, "undecryptable"},
		{"sealed for another platform", nil, func(q map[string][]string, b *string) {
			sealer, err := wxemu.NewSealer(loopMsgToken, loopAESKey, "wx00000000000000ff")
			if err != nil {
				panic(err)
			}
			body, sig := sealer.Seal([]byte("<xml><InfoType>component_verify_ticket</InfoType></xml>"), "1700000000", "nonce1")
			*b, q["msg_signature"] = string(body), []string{sig}
		}, "other_platform"},
		{"no message settings", map[string]string{"ENVSHARE_TOKEN_FILE": "", "ENVSHARE_TOKEN_MODE": "env",
			"ENVSHARE_STATE_ID": "", "ENVSHARE_COMPONENT_ACCESS_TOKEN": "some-token-value"}, nil, "not_configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLoop(t, tt.env, false)
			if resp := l.push(t, ticket, tt.mutate); resp.Status < 400 {
				t.Fatalf("%d %s", resp.Status, resp.Body)
			}
			line := errorLine(t, l.logs, "wechat push refused")
			if line["reason"] != tt.reason {
				t.Errorf("reason %v, want %s: %v", line["reason"], tt.reason, line)
			}
			if got := alarmed(t, l.emf, "PushRejected"); !slices.Equal(got, []float64{1}) {
				t.Errorf("PushRejected %v, want [1]", got)
			}
			if got := alarmed(t, l.emf, "PushRejected", "Reason"); len(got) != 1 || !strings.Contains(l.emf.String(), `"Reason":"`+tt.reason+`"`) {
				t.Errorf("PushRejected by Reason %v: %s", got, l.emf.String())
			}
			for _, secret := range []string{loopMsgToken, loopAESKey, loopAppSecret, ticket.ComponentVerifyTicket} {
				if strings.Contains(l.logs.String(), secret) || strings.Contains(l.emf.String(), secret) {
					t.Errorf("a secret reached the log")
				}
			}
		})
	}
}

func TestTheTicketAgeIsAMetricOfEachPushAndEachRefresh(t *testing.T) {
	l := newLoop(t, nil, false)
	ctx := context.Background()
	if _, err := Answer(l.app.Message(ctx, []byte(`{"action":"refresh"}`))); err == nil {
		t.Fatal("a refresh without a ticket succeeded")
	}
	errorLine(t, l.logs, "refresh failed")
	if got := alarmed(t, l.emf, "RefreshFailed"); !slices.Equal(got, []float64{1}) {
		t.Errorf("RefreshFailed %v, want [1]", got)
	}
	if got := alarmed(t, l.emf, "TicketAge"); len(got) != 0 {
		t.Errorf("TicketAge %v without a ticket", got)
	}
	l.emf.Reset()
	if _, err := l.emu.PushTicket(ctx); err != nil { // a ticket created now: age about 0
		t.Fatal(err)
	}
	if _, err := Answer(l.app.Message(ctx, []byte(`{"action":"refresh"}`))); err != nil {
		t.Fatal(err)
	}
	// The push's ticket is the stored one: the refresh reports it, at least as old.
	ages := alarmed(t, l.emf, "TicketAge")
	if len(ages) != 2 || ages[0] < 0 || ages[1] < ages[0] || ages[1] >= 12*3600 {
		t.Errorf("TicketAge of the push and of the refresh: %v", ages)
	}
	if got := alarmed(t, l.emf, "RefreshFailed"); len(got) != 0 {
		t.Errorf("RefreshFailed %v after a good refresh", got)
	}
}

func TestARejectedTokenAndAFailedOnboardingAreCounted(t *testing.T) {
	t.Run("the token stays rejected after a reload", func(t *testing.T) {
		emu := wxemu.New(wxemu.Options{Tokens: []string{"the-token-wechat-knows"}, Strict: true})
		if err := emu.Seed(wxemu.DemoState()); err != nil {
			t.Fatal(err)
		}
		useEnv(t, map[string]string{"ENVSHARE_WECHAT_BASE_URL": emu.ServeTest(t), "ENVSHARE_COMPONENT_ACCESS_TOKEN": "a-token-wechat-rejects",
			"ENVSHARE_HTTP_AUTH": "bearer", "ENVSHARE_HTTP_SECRET": testSecret, "ENVSHARE_RATE_LIMIT": "0"}, nil)
		emf := &testkit.Buffer{}
		app := New(Options{Platform: PlatformAWS, Logger: discardLogger(), MetricsOut: emf})
		app.HTTP(context.Background(), HTTPRequest{Method: "GET", Path: "/bindings", Headers: bearer(),
			Query: map[string][]string{"appids": {"wx5fe6bb43205e9e07"}}})
		if got := alarmed(t, emf, "TokenRejected"); !slices.Equal(got, []float64{1}) {
			t.Errorf("TokenRejected %v, want [1]: %s", got, emf.String())
		}
	})
	t.Run("onboard_failed", func(t *testing.T) {
		l := newLoop(t, nil, true)
		mintWithApp(t, l, "wx7e57d0c0ffee1234")
		l.emf.Reset()
		l.push(t, wxcrypt.Event{InfoType: wxcrypt.InfoAuthorized, AuthorizerAppID: "wx7e57d0c0ffee1234"}, nil)
		errorLine(t, l.logs, "onboard_failed")
		if got := alarmed(t, l.emf, "OnboardFailed"); !slices.Equal(got, []float64{1}) {
			t.Errorf("OnboardFailed %v, want [1]", got)
		}
	})
}

func TestAnInvalidMessageLogsItsErrorForTheDeadLetterTriage(t *testing.T) {
	f := setup(t, nil)
	ctx := WithInvocation(context.Background(), Invocation{RequestID: "req-9", Trigger: TriggerSQS, MessageID: "msg-42"})
	f.app.Message(ctx, []byte(`{"action":"share","env":"Bad Env","appids":["wx0123456789abcdef"],"dryrun":true}`))
	for _, l := range f.logs.Lines(t) {
		if l["msg"] != "invocation" {
			continue
		}
		e, _ := l["error"].(map[string]any)
		details, _ := e["details"].([]any)
		if l["message_id"] != "msg-42" || e["code"] != "invalid_request" || len(details) != 2 ||
			!strings.Contains(toJSON(t, details), "dryrun") || !strings.Contains(toJSON(t, details), "env") {
			t.Errorf("summary line %v", l)
		}
		return
	}
	t.Fatalf("no summary line: %s", f.logs.String())
}

func TestAMisspeltVariableIsWarnedOfAtColdStart(t *testing.T) {
	f := setup(t, map[string]string{"ENVSHARE_MANFEST": `{"envs":"a secret-looking value"}`})
	f.app.HTTP(context.Background(), post("/share", shareBody))
	f.app.HTTP(context.Background(), post("/share", shareBody))
	if n := f.logs.Count(`"msg":"ENVSHARE_MANFEST is set but is not a setting of envshare (a typo?): ignored"`); n != 1 {
		t.Errorf("%d warnings, want 1: %s", n, f.logs.String())
	}
	if strings.Contains(f.logs.String(), "secret-looking") {
		t.Error("the value reached the log")
	}
}

// TestABadManifestFailsOnlyWhatNeedsIt drives the deployed wiring with a manifest that does not
// load: WeChat's pushes are stored, refresh mints, shares and unshares work over HTTP with
// their confirmation pages; only the reconcile of the configured manifest fails, naming it.
func TestABadManifestLeavesPushesRefreshSharesAndPagesWorking(t *testing.T) {
	l := newLoop(t, map[string]string{"ENVSHARE_MANIFEST": `{"envs":[{"env":"Bad Env","appids":[]}]}`}, false)
	ctx := context.Background()
	if _, err := l.emu.PushTicket(ctx); err != nil { // WeChat's push, over HTTP
		t.Fatalf("push: %v", err)
	}
	if got, _ := l.record(t)["component_verify_ticket"].(string); got == "" {
		t.Fatal("the ticket was not stored")
	}
	errorLine(t, l.logs, "ENVSHARE_MANIFEST is unusable")
	if _, err := Answer(l.app.Message(ctx, []byte(`{"action":"refresh"}`))); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	body := `{"env":"prod-6gni9ity244a6ea3","appids":["wx1a2b3c4d5e6f7081"]}`
	resp := l.app.HTTP(ctx, post("/share", body))
	page, _ := decodeBody(t, resp)["results"].([]any)[0].(map[string]any)["confirm_page"].(string)
	if resp.Status != 200 || !strings.HasPrefix(page, loopPublicURL) {
		t.Fatalf("share: %d %s", resp.Status, resp.Body)
	}
	if resp := l.app.HTTP(ctx, HTTPRequest{Method: "GET", Path: "/" + strings.TrimPrefix(page, loopPublicURL)}); resp.Status != 200 {
		t.Fatalf("the confirmation page: %d", resp.Status)
	}
	if resp := l.app.HTTP(ctx, post("/unshare", body)); resp.Status != 200 {
		t.Fatalf("unshare: %d %s", resp.Status, resp.Body)
	}
	resp = l.app.HTTP(ctx, post("/reconcile", `{}`))
	if resp.Status != 400 || !strings.Contains(resp.Body, `ENVSHARE_MANIFEST: envs[0].env`) {
		t.Fatalf("the reconcile of the configured manifest: %d %s", resp.Status, resp.Body)
	}
}
