package budget

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/token"
	"github.com/envshare/envshare/internal/wxcrypt"
	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

// The simulated fleet: 8 instances, each making one API call a minute for 6 hours; with the
// state record, the refresh schedule runs every 20 minutes and WeChat pushes a ticket every
// 10 minutes.
const (
	simInstances = 8
	simDuration  = 6 * time.Hour
	simRefresh   = 20 * time.Minute
	simPush      = 10 * time.Minute
)

// The platform as the emulator and the credentials secret know it.
const (
	simAppID     = "wxcomponent0000001"
	simAppSecret = "sim-app-secret-0123456789"
	simTicket    = "ticket@@@sim-start-0123456789"
	simMsgToken  = "sim-message-token"
	simAESKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	simAppIDCall = "wx5fe6bb43205e9e07" // the Mini Program each call asks about
)

// lifecycleOutcome is what 6 simulated hours gave.
type lifecycleOutcome struct {
	tokenErrors int // API calls WeChat answered 40001, 40014 or 42001 (each then reloaded and retried)
	mints       int // tokens minted
	failedCalls int // calls that failed for the caller, after the client's reload
	calls       int // calls the instances made
}

var simLog = slog.New(slog.DiscardHandler)

func simWait(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// simulateLifecycle runs the fleet for 6 simulated hours, minute by minute, with or without
// the state record, and counts the token errors and the mints.
func simulateLifecycle(tb testing.TB, withState bool) lifecycleOutcome {
	tb.Helper()
	ctx := context.Background()
	// One clock for the whole simulation: the emulator's, the Sources' and the Refresher's.
	clock := wxemu.NewClock(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	quiet := wechat.WithLogger(simLog)
	dir := tb.TempDir()
	writeFile := func(name, value string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(value), 0o600); err != nil {
			tb.Fatal(err)
		}
		return path
	}

	// WeChat pushes its tickets to this /wechat/events stand-in, which stores them as the
	// function's route does, once the Refresher exists (the Refresher needs the emulator, and
	// the emulator this server's URL).
	var minter atomic.Pointer[token.Refresher]
	crypto, err := wxcrypt.New(wxcrypt.Config{Token: simMsgToken, EncodingAESKey: simAESKey, ComponentAppID: simAppID})
	if err != nil {
		tb.Fatal(err)
	}
	events := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		q := r.URL.Query()
		msg, err := crypto.Open(q.Get("timestamp"), q.Get("nonce"), q.Get("msg_signature"), body)
		if err != nil {
			http.Error(w, "bad push", http.StatusBadRequest)
			return
		}
		ev, err := wxcrypt.ParseEvent(msg)
		if m := minter.Load(); err == nil && ev.InfoType == wxcrypt.InfoComponentVerifyTicket && m != nil {
			_, err = m.StoreTicket(r.Context(), ev.ComponentVerifyTicket, time.Unix(ev.CreateTime, 0))
		}
		if err != nil {
			tb.Errorf("ticket push: %v", err)
		}
		io.WriteString(w, "success")
	}))
	tb.Cleanup(events.Close)

	emu := wxemu.New(wxemu.Options{ComponentAppID: simAppID, ComponentAppSecret: simAppSecret,
		ComponentVerifyTicket: simTicket, MintGrace: 5 * time.Minute, Now: clock.Now,
		PushURL: events.URL, MessageToken: simMsgToken, EncodingAESKey: simAESKey})
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		tb.Fatal(err)
	}
	base := "http://wxemu.test"
	hc := wechat.WithHTTPClient(&http.Client{Transport: simTransport{emu}})

	// Each instance has its own WeChat client (no rate limit, instant backoff) and Source.
	var (
		cfg       token.Config
		refresher *token.Refresher
	)
	if withState {
		// The credentials secret holds no ticket: the pushed ones are stored in the record.
		creds := writeFile("credentials.json", fmt.Sprintf(`{"component_appid":%q,"component_appsecret":%q}`, simAppID, simAppSecret))
		state := token.StateRecord{Store: store.File{}, ID: writeFile("state.json", "{}")}
		cfg = token.Config{Name: "file (state record)", State: &state}
		reader := &token.CredentialsReader{Store: store.File{}, ID: creds, Now: clock.Now}
		refresher = &token.Refresher{State: state, Credentials: reader.Read, Issuer: wechat.New(base, nil, quiet, hc),
			Now: clock.Now, Logger: simLog, Wait: simWait}
	} else {
		creds := writeFile("credentials.json", fmt.Sprintf(`{"component_appid":%q,"component_appsecret":%q,"component_verify_ticket":%q}`,
			simAppID, simAppSecret, simTicket))
		cfg = token.Config{Name: "file", Credentials: store.File{}, CredentialsID: creds}
	}
	cfg.Now, cfg.Logger = clock.Now, simLog
	clients := make([]*wechat.Client, simInstances)
	for i := range clients {
		c := cfg
		c.Issuer = wechat.New(base, nil, quiet, hc) // only used without the state record
		src := token.NewSource(c)
		if i == 0 && refresher != nil {
			refresher.Source = src // the instance that runs the schedule serves the new token at once
		}
		clients[i] = wechat.New(base, src, wechat.WithWait(simWait), quiet, hc)
	}
	minter.Store(refresher)

	var out lifecycleOutcome
	req := &wechat.GetEnvIDRequest{AppIDs: []string{simAppIDCall}, SourceType: 1}
	for minute := time.Duration(0); minute < simDuration; minute += time.Minute {
		if withState && minute%simPush == 0 {
			if _, err := emu.PushTicket(ctx); err != nil {
				tb.Fatalf("push at %v: %v", minute, err)
			}
		}
		if withState && minute%simRefresh == 0 {
			if _, err := refresher.Refresh(ctx, false); err != nil {
				tb.Fatalf("refresh at %v: %v", minute, err)
			}
		}
		for i, c := range clients {
			if minute < time.Duration(i)*time.Minute {
				continue // instance i starts i minutes after the first, as a fleet scales out
			}
			out.calls++
			if _, err := c.GetEnvID(ctx, req); err != nil {
				out.failedCalls++
			}
		}
		clock.Advance(time.Minute)
	}

	for _, call := range emu.CallLog() {
		if call.Endpoint == wxemu.EndpointGetEnvID && wechat.ClassOf(call.ErrCode) == wechat.ClassToken {
			out.tokenErrors++
		}
	}
	out.mints = emu.Mints()
	return out
}

// TestOneMinterLifecycle8Instances6Hours shows why the platform has one minter (contract,
// section 6): without the state record the instances mint their own tokens and invalidate each
// other's, over and over; with it, the schedule mints one token per refresh period and no call
// is ever answered with a token error.
func TestOneMinterLifecycle8Instances6Hours(t *testing.T) {
	without := simulateLifecycle(t, false)
	with := simulateLifecycle(t, true)
	t.Logf("without the state record: %+v", without)
	t.Logf("with the state record:    %+v", with)

	perTwoHours := int(simDuration / (2 * time.Hour))
	if without.tokenErrors <= simInstances || without.mints <= simInstances*perTwoHours {
		t.Errorf("without the state record: %d token errors and %d mints; want repeated errors and more than one "+
			"mint per instance every 2 hours (> %d)", without.tokenErrors, without.mints, simInstances*perTwoHours)
	}
	// A token lives 2 hours and is replaced when it expires within 30 minutes, at the first
	// 20-minute refresh after that: one mint every 90 to 110 minutes.
	if with.tokenErrors != 0 || with.failedCalls != 0 || with.mints < 3 || with.mints > 5 {
		t.Errorf("with the state record: %d token errors, %d failed calls and %d mints; want none, none and one "+
			"mint per 90-110 minutes (3 to 5)", with.tokenErrors, with.failedCalls, with.mints)
	}
}

// BenchmarkLifecycle8Instances6Hours reports the figures of the simulation above: token errors
// and mints, without and with the state record. ns/op is the time to simulate both.
func BenchmarkLifecycle8Instances6Hours(b *testing.B) {
	var without, with lifecycleOutcome
	for b.Loop() {
		without = simulateLifecycle(b, false)
		with = simulateLifecycle(b, true)
	}
	b.ReportMetric(float64(without.tokenErrors), "token_errors_without")
	b.ReportMetric(float64(without.mints), "mints_without")
	b.ReportMetric(float64(with.tokenErrors), "token_errors_with")
	b.ReportMetric(float64(with.mints), "mints_with")
}

// simTransport carries the clients' requests to the emulator's handler without a socket: the
// simulation is about tokens, not transport, and a loopback connection per call made it four
// times slower under -race.
type simTransport struct{ h http.Handler }

func (t simTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	return w.Result(), nil
}
