package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/eventtest"
	"github.com/envshare/envshare/internal/trigger"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

// stackAtWeChat records, at the WeChat client's HTTP request, the envshare frames of the stack.
type stackAtWeChat struct {
	mu     sync.Mutex
	frames []string
}

func (s *stackAtWeChat) RoundTrip(r *http.Request) (*http.Response, error) {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs)])
	var got []string
	for {
		f, more := frames.Next()
		if name, ok := strings.CutPrefix(f.Function, "github.com/envshare/envshare/"); ok && !strings.Contains(name, "path_test") {
			got = append(got, name)
		}
		if !more {
			break
		}
	}
	s.mu.Lock()
	if s.frames == nil {
		s.frames = got
	}
	s.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// TestThePathOfAShareIsTheOneTheTriggerDocLists measures the real path of a share over HTTP
// API on AWS, from the handler to the WeChat call, and compares it with the list in
// internal/trigger/doc.go, so that the list stays true.
func TestThePathOfAShareIsTheOneTheTriggerDocLists(t *testing.T) {
	emu := eventtest.NewEmulator()
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		t.Fatal(err)
	}
	base := emu.ServeTest(t)
	eventtest.SetEnv(t, map[string]string{"ENVSHARE_COMPONENT_ACCESS_TOKEN": "tok", "ENVSHARE_HTTP_AUTH": "bearer",
		"ENVSHARE_HTTP_SECRET": eventtest.TestSecret})
	rec := &stackAtWeChat{}
	h := handler{app: trigger.New(trigger.Options{Platform: trigger.PlatformAWS, Logger: slog.New(slog.DiscardHandler), MetricsOut: io.Discard,
		Build: func(context.Context, config.Config) (*trigger.Core, error) {
			client := wechat.New(base, wechat.StaticToken(eventtest.TestToken), wechat.WithHTTPClient(&http.Client{Transport: rec}))
			return &trigger.Core{Share: share.New(client, share.Options{})}, nil
		}})}
	event := `{"version":"2.0","routeKey":"$default","rawPath":"/share","headers":{"authorization":"Bearer ` + eventtest.TestSecret + `"},` +
		`"requestContext":{"http":{"method":"POST"},"domainName":"id.execute-api.us-east-1.amazonaws.com"},` +
		`"body":"{\"env\":\"prod-6gni9ity244a6ea3\",\"appids\":[\"wx075cf85bf347b6df\"]}"}`
	if _, err := h.handle(context.Background(), []byte(event)); err != nil {
		t.Fatal(err)
	}
	if rec.frames == nil {
		t.Fatal("no WeChat call")
	}
	var measured []string
	for i := len(rec.frames) - 1; i >= 0; i-- { // from the handler down to the call
		if name := rec.frames[i]; !strings.Contains(name, "Test") && !strings.Contains(name, "stackAtWeChat") {
			measured = append(measured, name)
		}
	}
	doc, err := os.ReadFile("../../internal/trigger/doc.go")
	if err != nil {
		t.Fatal(err)
	}
	_, list, _ := strings.Cut(string(doc), "// # The path of a share")
	var listed []string
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(strings.TrimPrefix(line, "//\t")); strings.HasPrefix(line, "//\t") && len(f) >= 2 {
			listed = append(listed, f[0]+"."+f[1])
		}
	}
	if strings.Join(measured, "\n") != strings.Join(listed, "\n") {
		t.Errorf("the stack at the WeChat call is\n  %s\nbut internal/trigger/doc.go lists\n  %s",
			strings.Join(measured, "\n  "), strings.Join(listed, "\n  "))
	}
	if want := fmt.Sprintf("%d frames in", len(measured)); !strings.Contains(list, want) {
		t.Errorf("internal/trigger/doc.go does not say %q", want)
	}
}
