package wxemu

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

const testToken = "test-token"

// Demo appids and envs used across tests.
const (
	envProd     = "prod-6gni9ity244a6ea3"
	envTest     = "test-env-6gni9ity244a6ea3"
	envStaging  = "staging-8f2k4m6n1p3q5r7t"
	envGlobex   = "globex-prod-3h5j7k9m2n4p6q8r"
	appBound    = "wx5fe6bb43205e9e07" // auto-confirm, bound to envTest
	appAuto     = "wx075cf85bf347b6df"
	appConfirm  = "wx1a2b3c4d5e6f7081"
	appPending  = "wx9c8d7e6f5a4b3c2d" // pending on envStaging as c900001
	appNo18     = "wx0f1e2d3c4b5a6978"
	appNoCloud  = "wxabcdef0123456789"
	appGlobex   = "wx7e57d0c0ffee1234"
	appUnknown  = "wx0000000000000000"
	sourceCloud = 1
)

// harness is an emulator seeded with DemoState, served on 127.0.0.1, and a plain net/http client.
type harness struct {
	t    *testing.T
	emu  *Emulator
	base string
}

func setup(t *testing.T, opts Options) *harness {
	t.Helper()
	if opts.Tokens == nil {
		opts.Tokens = []string{testToken}
	}
	emu := New(opts)
	if err := emu.Seed(DemoState()); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, emu: emu, base: emu.ServeTest(t)}
}

// do sends a raw request and returns the status, the Content-Type and the body.
func (h *harness) do(method, path, body string) (int, string, []byte) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), method, h.base+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), raw
}

// call POSTs body as JSON to an API path with the test token and decodes the answer into out.
func (h *harness) call(path string, body, out any) {
	h.t.Helper()
	h.callWith(testToken, path, body, out)
}

func (h *harness) callWith(token, path string, body, out any) {
	h.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		h.t.Fatal(err)
	}
	status, _, raw := h.do(http.MethodPost, path+"?access_token="+token, string(b))
	if status != http.StatusOK {
		h.t.Fatalf("POST %s: HTTP %d: %s", path, status, raw)
	}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(out); err != nil {
		h.t.Fatalf("POST %s: %v: %s", path, err, raw)
	}
}

// errcodeOf decodes errcode from a raw WeChat answer.
func errcodeOf(t *testing.T, raw []byte) int {
	t.Helper()
	var b struct {
		ErrCode *int `json:"errcode"`
	}
	if err := json.Unmarshal(raw, &b); err != nil || b.ErrCode == nil {
		t.Fatalf("not a WeChat answer: %s", raw)
	}
	return *b.ErrCode
}
