package wxemu

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

const getBody = `{"appids":["` + appBound + `"],"source_type":1}`

func TestFaultAnswers(t *testing.T) {
	tests := []struct {
		name       string
		fault      Fault
		path       string
		wantStatus int
		wantCode   int // when the answer is WeChat JSON
	}{
		{"busy answers errcode -1", Fault{Kind: FaultBusy}, wechat.PathShareEnv, 200, -1},
		{"a minute quota answers 45011", Fault{Kind: FaultErrCode, Code: 45011}, wechat.PathGetEnvID, 200, 45011},
		{"a daily quota answers 45009", Fault{Kind: FaultErrCode, Code: 45009}, wechat.PathUnshareEnv, 200, 45009},
		{"any errcode can be injected", Fault{Kind: FaultErrCode, Code: 61004}, wechat.PathComponentToken, 200, 61004},
		{"http5xx answers 503 by default", Fault{Kind: FaultHTTP5xx}, wechat.PathShareEnv, 503, 0},
		{"http5xx answers the given status", Fault{Kind: FaultHTTP5xx, Status: 502}, wechat.PathGetEnvID, 502, 0},
		{"a fault for all endpoints hits any", Fault{Endpoint: "*", Kind: FaultBusy}, wechat.PathGetEnvID, 200, -1},
		{"a fault by path hits its endpoint", Fault{Endpoint: wechat.PathGetEnvID, Kind: FaultBusy}, wechat.PathGetEnvID, 200, -1},
		{"a fault for another endpoint does not hit", Fault{Endpoint: EndpointShare, Kind: FaultBusy}, wechat.PathGetEnvID, 200, 0},
		{"faults apply before the token check", Fault{Kind: FaultBusy}, wechat.PathGetEnvID + "?access_token=wrong", 200, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t, Options{})
			if err := h.emu.AddFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			path := tt.path
			if !strings.Contains(path, "?") {
				path += "?access_token=" + testToken
			}
			status, ctype, raw := h.do("POST", path, getBody)
			if status != tt.wantStatus {
				t.Fatalf("HTTP %d, want %d", status, tt.wantStatus)
			}
			if status != 200 {
				if strings.HasPrefix(ctype, "application/json") {
					t.Errorf("a 5xx from a gateway is not JSON: %s", ctype)
				}
				return
			}
			if got := errcodeOf(t, raw); got != tt.wantCode {
				t.Fatalf("errcode %d, want %d: %s", got, tt.wantCode, raw)
			}
		})
	}
}

func TestFaultTimes(t *testing.T) {
	h := setup(t, Options{})
	if err := h.emu.AddFault(Fault{Endpoint: EndpointGetEnvID, Kind: FaultBusy, Times: 2}); err != nil {
		t.Fatal(err)
	}
	var codes []int
	for range 3 {
		_, _, raw := h.do("POST", wechat.PathGetEnvID+"?access_token="+testToken, getBody)
		codes = append(codes, errcodeOf(t, raw))
		if len(codes) == 1 {
			if f := h.emu.Faults(); len(f) != 1 || f[0].Times != 1 {
				t.Errorf("after one call the fault has %+v left, want 1 time", f)
			}
		}
	}
	if want := []int{-1, -1, 0}; !slices.Equal(codes, want) {
		t.Fatalf("errcodes %v, want %v", codes, want)
	}
	if f := h.emu.Faults(); len(f) != 0 {
		t.Errorf("a used-up fault remains: %+v", f)
	}
	t.Run("faulted calls are recorded with their fault", func(t *testing.T) {
		log := h.emu.CallLog()
		if len(log) != 3 || log[0].Fault != FaultBusy || log[0].ErrCode != -1 || log[2].Fault != "" {
			t.Fatalf("%+v", log)
		}
	})
}

func TestFaultTimesCountOnlyMatchingCalls(t *testing.T) {
	h := setup(t, Options{})
	_ = h.emu.AddFault(Fault{Endpoint: EndpointShare, Kind: FaultBusy, Times: 1})
	h.do("POST", wechat.PathGetEnvID+"?access_token="+testToken, getBody)
	if f := h.emu.Faults(); len(f) != 1 || f[0].Times != 1 {
		t.Fatalf("a call to another endpoint used the fault: %+v", f)
	}
}

func TestFirstDecisiveFaultWins(t *testing.T) {
	h := setup(t, Options{})
	_ = h.emu.AddFault(Fault{Kind: FaultErrCode, Code: 45011, Times: 1})
	_ = h.emu.AddFault(Fault{Kind: FaultBusy, Times: 1})
	var codes []int
	for range 3 {
		_, _, raw := h.do("POST", wechat.PathGetEnvID+"?access_token="+testToken, getBody)
		codes = append(codes, errcodeOf(t, raw))
	}
	if want := []int{45011, -1, 0}; !slices.Equal(codes, want) {
		t.Fatalf("errcodes %v, want %v", codes, want)
	}
}

func TestDropFault(t *testing.T) {
	h := setup(t, Options{})
	_ = h.emu.AddFault(Fault{Kind: FaultDrop, Times: 1})
	req, _ := http.NewRequestWithContext(t.Context(), "POST", h.base+wechat.PathGetEnvID+"?access_token="+testToken, strings.NewReader(getBody))
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got HTTP %d, want a connection error", resp.StatusCode)
	}
	if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
		t.Errorf("unexpected error kind: %v", err)
	}
	if c := h.emu.CallLog(); len(c) != 1 || c[0].Fault != FaultDrop || c[0].Status != 0 {
		t.Errorf("call log %+v", c)
	}
	if _, _, raw := h.do("POST", wechat.PathGetEnvID+"?access_token="+testToken, getBody); errcodeOf(t, raw) != 0 {
		t.Errorf("the next call still fails: %s", raw)
	}
}

func TestLatencyIsCancelledWithTheRequest(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		f    *Fault
	}{
		{"a latency fault", Options{}, &Fault{Kind: FaultLatency, Delay: time.Hour}},
		{"the per-call latency option", Options{Latency: time.Hour}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name+" waits until the caller gives up", func(t *testing.T) {
			h := setup(t, tt.opts)
			if tt.f != nil {
				_ = h.emu.AddFault(*tt.f)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", h.base+wechat.PathGetEnvID+"?access_token="+testToken, strings.NewReader(getBody))
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("answered HTTP %d before the delay", resp.StatusCode)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error %v, want the caller's deadline", err)
			}
			// The server's cleanup waits for the handler: a handler ignoring the
			// cancellation would hang this test for an hour.
		})
	}
}

func TestLatencyThenAnswer(t *testing.T) {
	h := setup(t, Options{})
	_ = h.emu.AddFault(Fault{Kind: FaultLatency, Delay: time.Millisecond, Times: 1})
	_ = h.emu.AddFault(Fault{Kind: FaultBusy, Times: 1})
	_, _, raw := h.do("POST", wechat.PathGetEnvID+"?access_token="+testToken, getBody)
	if code := errcodeOf(t, raw); code != -1 {
		t.Fatalf("errcode %d: a latency fault must not stop the decisive fault", code)
	}
	if f := h.emu.Faults(); len(f) != 0 {
		t.Fatalf("faults left: %+v", f)
	}
}

func TestInvalidFaults(t *testing.T) {
	tests := []struct {
		name string
		f    Fault
	}{
		{"an unknown kind", Fault{Kind: "explode"}},
		{"an errcode fault without code", Fault{Kind: FaultErrCode}},
		{"an http5xx fault with a 4xx status", Fault{Kind: FaultHTTP5xx, Status: 404}},
		{"a latency fault without delay", Fault{Kind: FaultLatency}},
		{"an unknown endpoint", Fault{Endpoint: "batchdeleteenv", Kind: FaultBusy}},
		{"negative times", Fault{Kind: FaultBusy, Times: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			if err := New(Options{}).AddFault(tt.f); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestFaultJSON(t *testing.T) {
	t.Run("a fault round-trips with its delay as a duration string", func(t *testing.T) {
		f := Fault{Endpoint: EndpointShare, Kind: FaultLatency, Delay: 250 * time.Millisecond, Times: 3}
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"endpoint":"batchshareenv","kind":"latency","delay":"250ms","times":3}`; string(b) != want {
			t.Fatalf("%s, want %s", b, want)
		}
		var back Fault
		if err := json.Unmarshal(b, &back); err != nil || back != f {
			t.Fatalf("%+v %v", back, err)
		}
	})
	t.Run("an unknown field is refused", func(t *testing.T) {
		var f Fault
		if err := json.Unmarshal([]byte(`{"kind":"busy","time":2}`), &f); err == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("a bad delay is refused", func(t *testing.T) {
		var f Fault
		if err := json.Unmarshal([]byte(`{"kind":"latency","delay":"soon"}`), &f); err == nil {
			t.Fatal("accepted")
		}
	})
}
