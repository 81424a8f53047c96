package wxemu

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/envshare/envshare/pkg/wechat"
)

func TestControlEndpoints(t *testing.T) {
	h := setup(t, Options{})
	t.Run("GET state answers the seeded state", func(t *testing.T) {
		status, _, raw := h.do("GET", "/__emu/state", "")
		var s State
		if err := json.Unmarshal(raw, &s); err != nil || status != 200 {
			t.Fatalf("HTTP %d: %s", status, raw)
		}
		if !reflect.DeepEqual(s, DemoState()) {
			t.Fatalf("%+v", s)
		}
	})
	t.Run("POST state seeds a new state", func(t *testing.T) {
		body := `{"envs":{"e1":{"subject":"s"}},"apps":{"wx1111111111111111":{"subject":"s","auto_confirm":true}}}`
		if status, _, raw := h.do("POST", "/__emu/state", body); status != 200 {
			t.Fatalf("HTTP %d: %s", status, raw)
		}
		if s := h.emu.State(); len(s.Envs) != 1 || len(s.Apps) != 1 {
			t.Fatalf("%+v", s)
		}
	})
	t.Run("POST state with an invalid state answers 400", func(t *testing.T) {
		if status, _, _ := h.do("POST", "/__emu/state", `{"envs":{},"apps":{},"bindings":{"wx1":["e"]}}`); status != 400 {
			t.Fatalf("HTTP %d", status)
		}
	})
	t.Run("POST faults adds one fault or an array", func(t *testing.T) {
		if status, _, raw := h.do("POST", "/__emu/faults", `{"endpoint":"batchgetenvid","kind":"busy","times":1}`); status != 200 {
			t.Fatalf("HTTP %d: %s", status, raw)
		}
		status, _, raw := h.do("POST", "/__emu/faults", `[{"kind":"errcode","code":45011},{"kind":"http5xx","status":502,"times":2}]`)
		if status != 200 {
			t.Fatalf("HTTP %d: %s", status, raw)
		}
		_, _, raw = h.do("GET", "/__emu/faults", "")
		var got struct{ Faults []Fault }
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		want := []Fault{{Endpoint: EndpointGetEnvID, Kind: FaultBusy, Times: 1}, {Kind: FaultErrCode, Code: 45011}, {Kind: FaultHTTP5xx, Status: 502, Times: 2}}
		if !reflect.DeepEqual(got.Faults, want) {
			t.Fatalf("%+v, want %+v", got.Faults, want)
		}
	})
	t.Run("POST faults with one invalid fault adds none and answers 400", func(t *testing.T) {
		before := h.emu.Faults()
		if status, _, _ := h.do("POST", "/__emu/faults", `[{"kind":"busy"},{"kind":"nope"}]`); status != 400 {
			t.Fatalf("HTTP %d", status)
		}
		if !reflect.DeepEqual(h.emu.Faults(), before) {
			t.Fatal("faults changed")
		}
	})
	t.Run("DELETE faults removes them all", func(t *testing.T) {
		h.do("DELETE", "/__emu/faults", "")
		if f := h.emu.Faults(); len(f) != 0 {
			t.Fatalf("%+v", f)
		}
	})
	t.Run("an unknown control path answers 404", func(t *testing.T) {
		if status, _, _ := h.do("GET", "/__emu/nothing", ""); status != 404 {
			t.Fatalf("HTTP %d", status)
		}
	})
}

func TestCallRecording(t *testing.T) {
	h := setup(t, Options{})
	share := wechat.ShareEnvRequest{Data: []wechat.EnvAppIDs{{Env: envProd, AppIDs: []string{appAuto, appConfirm}}}, SourceType: 1}
	var sr wechat.ShareEnvResponse
	h.call(wechat.PathShareEnv, share, &sr)
	var gr wechat.GetEnvIDResponse
	h.call(wechat.PathGetEnvID, wechat.GetEnvIDRequest{AppIDs: []string{appAuto}, SourceType: 1}, &gr)
	h.call(wechat.PathGetEnvID, wechat.GetEnvIDRequest{AppIDs: []string{appBound}, SourceType: 1}, &gr)

	t.Run("counts are kept per endpoint", func(t *testing.T) {
		got := map[string]int{}
		for _, ep := range []string{EndpointShare, EndpointUnshare, EndpointGetEnvID, wechat.PathGetEnvID, "*"} {
			got[ep] = h.emu.Calls(ep)
		}
		want := map[string]int{EndpointShare: 1, EndpointUnshare: 0, EndpointGetEnvID: 2, wechat.PathGetEnvID: 2, "*": 3}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%v, want %v", got, want)
		}
	})
	t.Run("GET calls answers counts and each call's appids", func(t *testing.T) {
		_, _, raw := h.do("GET", "/__emu/calls", "")
		var rep CallReport
		if err := json.Unmarshal(raw, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Counts[EndpointShare] != 1 || rep.Counts[EndpointGetEnvID] != 2 || len(rep.Calls) != 3 {
			t.Fatalf("%s", raw)
		}
		c := rep.Calls[0]
		if c.Endpoint != EndpointShare || c.Method != "POST" || !reflect.DeepEqual(c.Data, share.Data) ||
			c.SourceType == nil || *c.SourceType != 1 || c.Status != 200 || c.PairCount() != 2 {
			t.Errorf("%+v", c)
		}
		if got := rep.Calls[2].AppIDs; !reflect.DeepEqual(got, []string{appBound}) {
			t.Errorf("appids %v", got)
		}
	})
	t.Run("DELETE calls forgets them", func(t *testing.T) {
		h.do("DELETE", "/__emu/calls", "")
		if n := h.emu.Calls(""); n != 0 || len(h.emu.CallLog()) != 0 {
			t.Fatalf("%d calls left", n)
		}
	})
}

func TestTokensAreNeverLogged(t *testing.T) {
	var buf syncBuffer
	opts := Options{
		Logger:         slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ComponentAppID: "wxcomponent00000001", ComponentAppSecret: "s3cret", ComponentVerifyTicket: "ticket",
	}
	h := setup(t, opts)
	var gr wechat.GetEnvIDResponse
	h.call(wechat.PathGetEnvID, wechat.GetEnvIDRequest{AppIDs: []string{appAuto}, SourceType: 1}, &gr)
	h.callWith("unknown-token", wechat.PathGetEnvID, wechat.GetEnvIDRequest{AppIDs: []string{appAuto}}, &gr)
	var tr wechat.ComponentTokenResponse
	h.callWith("", wechat.PathComponentToken, wechat.ComponentTokenRequest{ComponentAppID: "wxcomponent00000001", ComponentAppSecret: "s3cret", ComponentVerifyTicket: "ticket"}, &tr)
	logs := buf.String()
	if !strings.Contains(logs, "wxemu call") {
		t.Fatalf("nothing logged: %s", logs)
	}
	for _, secret := range []string{testToken, "unknown-token", "s3cret", tr.ComponentAccessToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("%q logged: %s", secret, logs)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServe(t *testing.T) {
	t.Run("it serves until the context is done", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		emu := New(Options{Tokens: []string{testToken}})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- Serve(ctx, ln, emu) }()
		resp, err := http.Post("http://"+ln.Addr().String()+wechat.PathGetEnvID+"?access_token="+testToken, "application/json", strings.NewReader(`{"appids":["wx1"]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Serve: %v", err)
		}
		if emu.Calls(EndpointGetEnvID) != 1 {
			t.Fatal("call not served")
		}
	})
	t.Run("ListenAndServe refuses a malformed address", func(t *testing.T) {
		if err := ListenAndServe(t.Context(), "127.0.0.1", New(Options{})); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("ListenAndServe stops with its context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := ListenAndServe(ctx, ":0", New(Options{})); err != nil {
			t.Fatalf("ListenAndServe: %v", err)
		}
	})
}
