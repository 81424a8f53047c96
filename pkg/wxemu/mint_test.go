package wxemu

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

var (
	mintCreds = wechat.ComponentTokenRequest{ComponentAppID: pushAppID, ComponentAppSecret: "s3cret", ComponentVerifyTicket: "ticket@@@seeded"}
	mintOpts  = Options{ComponentAppID: mintCreds.ComponentAppID, ComponentAppSecret: mintCreds.ComponentAppSecret, ComponentVerifyTicket: mintCreds.ComponentVerifyTicket}
	startTime = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
)

// mintWith asks for a token with ticket and returns the answer.
func (h *harness) mintWith(ticket string) wechat.ComponentTokenResponse {
	h.t.Helper()
	req := mintCreds
	req.ComponentVerifyTicket = ticket
	var resp wechat.ComponentTokenResponse
	h.callWith("", wechat.PathComponentToken, req, &resp)
	return resp
}

// mint asks for a token with the seeded ticket and fails the test unless one is minted.
func (h *harness) mint() string {
	h.t.Helper()
	resp := h.mintWith(mintCreds.ComponentVerifyTicket)
	if resp.ErrCode != 0 || resp.ComponentAccessToken == "" {
		h.t.Fatalf("mint: %+v", resp)
	}
	return resp.ComponentAccessToken
}

// wantCode fails the test unless a batchgetenvid call with token (named what in the failure)
// answers errcode want.
func (h *harness) wantCode(what, token string, want int) {
	h.t.Helper()
	var resp wechat.GetEnvIDResponse
	h.callWith(token, wechat.PathGetEnvID, wechat.GetEnvIDRequest{AppIDs: []string{appBound}, SourceType: 1}, &resp)
	if resp.ErrCode != want {
		h.t.Fatalf("%s: errcode %d, want %d", what, resp.ErrCode, want)
	}
}

func clockedSetup(t *testing.T, opts Options) (*harness, *Clock) {
	clk := NewClock(startTime)
	opts.Now = clk.Now
	return setup(t, opts), clk
}

func TestMintInvalidatesThePreviousToken(t *testing.T) {
	t.Run("the previous token works for 5 minutes, then answers 40001", func(t *testing.T) {
		h, clk := clockedSetup(t, mintOpts)
		first := h.mint()
		clk.Advance(time.Hour)
		second := h.mint()
		clk.Advance(DefaultMintGrace - time.Second)
		h.wantCode("within the grace period", first, 0)
		clk.Advance(time.Second)
		h.wantCode("after the grace period", first, 40001)
		h.wantCode("the new token", second, 0)
	})
	t.Run("the grace period is settable", func(t *testing.T) {
		o := mintOpts
		o.MintGrace = time.Millisecond
		h, clk := clockedSetup(t, o)
		first := h.mint()
		h.mint()
		clk.Advance(time.Millisecond)
		h.wantCode("first", first, 40001)
	})
	t.Run("each mint supersedes the one before", func(t *testing.T) {
		h, clk := clockedSetup(t, mintOpts)
		first, second := h.mint(), h.mint()
		clk.Advance(DefaultMintGrace)
		third := h.mint()
		h.wantCode("second within its grace", second, 0)
		clk.Advance(DefaultMintGrace)
		h.wantCode("first", first, 40001)
		h.wantCode("second", second, 40001)
		h.wantCode("third", third, 0)
	})
	t.Run("a token that expires before the grace ends answers 42001", func(t *testing.T) {
		h, clk := clockedSetup(t, mintOpts)
		first := h.mint()
		clk.Advance(TokenTTL - time.Minute)
		h.mint()
		clk.Advance(time.Minute)
		h.wantCode("first", first, 42001)
	})
	t.Run("configured tokens keep working", func(t *testing.T) {
		h, clk := clockedSetup(t, mintOpts)
		h.mint()
		h.mint()
		clk.Advance(TokenTTL * 3)
		h.wantCode("the configured token", testToken, 0)
	})
	t.Run("40001 reads invalid credential", func(t *testing.T) {
		if got := errMsg(40001); got != "invalid credential, access_token is invalid or not latest" {
			t.Fatalf("%q", got)
		}
	})
}

func TestMintCounting(t *testing.T) {
	h := setup(t, mintOpts)
	h.mint()
	h.mintWith("ticket@@@never-issued")
	h.mint()
	t.Run("Mints counts only the tokens minted", func(t *testing.T) {
		if n := h.emu.Mints(); n != 2 {
			t.Fatalf("Mints = %d, want 2", n)
		}
	})
	t.Run("the call report tells minted from refused", func(t *testing.T) {
		_, _, raw := h.do("GET", "/__emu/calls", "")
		var rep CallReport
		if err := json.Unmarshal(raw, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Mints != 2 || rep.Counts[EndpointComponentToken] != 3 {
			t.Fatalf("mints %d, calls %d: %s", rep.Mints, rep.Counts[EndpointComponentToken], raw)
		}
		if rep.Calls[1].ErrCode != 61006 {
			t.Fatalf("the refused call: %+v", rep.Calls[1])
		}
	})
	t.Run("ResetCalls resets the count", func(t *testing.T) {
		h.emu.ResetCalls()
		if n := h.emu.Mints(); n != 0 {
			t.Fatalf("Mints = %d", n)
		}
	})
}

func TestTickets(t *testing.T) {
	t.Run("the seeded ticket mints for 12 hours after the start, then answers 61006", func(t *testing.T) {
		h, clk := clockedSetup(t, mintOpts)
		clk.Advance(TicketTTL - time.Second)
		h.mint()
		clk.Advance(time.Second)
		if resp := h.mintWith(mintCreds.ComponentVerifyTicket); resp.ErrCode != 61006 {
			t.Fatalf("%+v, want 61006", resp)
		}
	})
	t.Run("a ticket never issued answers 61006", func(t *testing.T) {
		h := setup(t, mintOpts)
		if resp := h.mintWith("ticket@@@forged"); resp.ErrCode != 61006 {
			t.Fatalf("%+v, want 61006", resp)
		}
	})
	t.Run("without a seeded ticket nothing mints", func(t *testing.T) {
		o := mintOpts
		o.ComponentVerifyTicket = ""
		h := setup(t, o)
		if resp := h.mintWith(mintCreds.ComponentVerifyTicket); resp.ErrCode != 61006 {
			t.Fatalf("%+v, want 61006", resp)
		}
	})
	t.Run("a pushed ticket mints for 12 hours after its push, by the emulator's clock", func(t *testing.T) {
		rcv := newReceiver(t)
		o := rcv.options(mintOpts)
		h, clk := clockedSetup(t, o)
		clk.Advance(10 * time.Hour)
		ticket, err := h.emu.PushTicket(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(TicketTTL - time.Second)
		if resp := h.mintWith(mintCreds.ComponentVerifyTicket); resp.ErrCode != 61006 {
			t.Fatalf("the seeded ticket after 22 h: %+v, want 61006", resp)
		}
		if resp := h.mintWith(ticket); resp.ErrCode != 0 {
			t.Fatalf("the pushed ticket: %+v", resp)
		}
		clk.Advance(time.Second)
		if resp := h.mintWith(ticket); resp.ErrCode != 61006 {
			t.Fatalf("the pushed ticket after 12 h: %+v, want 61006", resp)
		}
	})
	t.Run("an older ticket still mints after a newer one is pushed", func(t *testing.T) {
		rcv := newReceiver(t)
		h := setup(t, rcv.options(mintOpts))
		older, _ := h.emu.PushTicket(t.Context())
		h.emu.PushTicket(t.Context())
		if resp := h.mintWith(older); resp.ErrCode != 0 {
			t.Fatalf("%+v", resp)
		}
	})
	t.Run("the checks before the ticket keep their order", func(t *testing.T) {
		h := setup(t, mintOpts)
		req := mintCreds
		req.ComponentAppSecret, req.ComponentVerifyTicket = "wrong", "ticket@@@forged"
		var resp wechat.ComponentTokenResponse
		h.callWith("", wechat.PathComponentToken, req, &resp)
		if resp.ErrCode != 40125 {
			t.Fatalf("%+v, want 40125", resp)
		}
	})
}
