package token

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/store/awsstore"
	"github.com/envshare/envshare/internal/store/storetest"
	"github.com/envshare/envshare/pkg/redact"
	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

const (
	stateID = "envshare/state"
	credsID = "envshare/credentials"
	// emuTicket is the ticket the emulator issues when it starts (at t0).
	emuTicket = "ticket@@@emu-start-0123456789"
)

// lifecycle is the token lifecycle of section 6 on real protocols: the WeChat emulator on a
// fake clock, the state record and the credentials in the Secrets Manager fake, one instance
// that mints (a Refresher and its Source) and one that only serves.
type lifecycle struct {
	clock   *wxemu.Clock
	emu     *wxemu.Emulator
	aws     *storetest.AWS
	secrets *redact.Set
	minter  *Refresher
	serving *wechat.Client // another instance: a Source on the state record, and its client
}

func newLifecycle(t *testing.T, log *slog.Logger) *lifecycle {
	t.Helper()
	c := newClock()
	ack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("success")) }))
	t.Cleanup(ack.Close)
	emu := wxemu.New(wxemu.Options{ComponentAppID: testAppID, ComponentAppSecret: testAppSecret,
		ComponentVerifyTicket: emuTicket, Now: c.Now, MintGrace: 5 * time.Minute,
		PushURL: ack.URL, MessageToken: testMsgToken, EncodingAESKey: testAESKey})
	if err := emu.Seed(wxemu.DemoState()); err != nil {
		t.Fatal(err)
	}
	base := emu.ServeTest(t)

	f := storetest.NewAWS(t)
	f.SetEnv(t)
	f.SetSecret(credsID, credsJSON(""))
	f.SetSecret(stateID, recordJSON(map[string]any{"component_verify_ticket": emuTicket, "ticket_create_time": c.Now()}))
	sm, err := awsstore.NewSecretsManager(store.WithEndpoint(f.URL), store.WithBackoff(0, 0))
	if err != nil {
		t.Fatal(err)
	}

	secrets := redact.New(testAppSecret) // the wiring's set knows the configured secrets
	state := StateRecord{Store: sm, ID: stateID, Secrets: secrets}
	issuer := wechat.New(base, nil, wechat.WithWait(instant), wechat.WithLogger(log))
	source := func() *Source {
		return NewSource(Config{Name: "aws-secretsmanager", State: &state, Now: c.Now, Logger: log, Secrets: secrets})
	}
	reader := &CredentialsReader{Store: sm, ID: credsID, Secrets: secrets, Now: c.Now}
	return &lifecycle{clock: c, emu: emu, aws: f, secrets: secrets,
		minter: &Refresher{State: state, Credentials: reader.Read, Issuer: issuer, Source: source(), Now: c.Now,
			Logger: log, Secrets: secrets, Wait: instant},
		serving: wechat.New(base, source(), wechat.WithWait(instant), wechat.WithLogger(log)),
	}
}

// push makes WeChat issue and push a new ticket, and returns it with its CreateTime.
func (l *lifecycle) push(t *testing.T) (string, time.Time) {
	t.Helper()
	ticket, err := l.emu.PushTicket(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return ticket, l.clock.Now()
}

// call is one API call of the serving instance.
func (l *lifecycle) call(ctx context.Context) error {
	_, err := l.serving.GetEnvID(ctx, &wechat.GetEnvIDRequest{AppIDs: []string{"wx5fe6bb43205e9e07"}, SourceType: 1})
	return err
}

// record is the state record's fields now.
func (l *lifecycle) record(t *testing.T) map[string]any {
	t.Helper()
	v, _ := l.aws.Secret(stateID)
	return decodeRecord(t, v)
}

// holdPut holds the next write of the state record until release is closed; held is closed
// when it is held.
func (l *lifecycle) holdPut() (held, release chan struct{}) {
	held, release = make(chan struct{}), make(chan struct{})
	var puts atomic.Int32 // not a sync.Once: its other callers would wait for the held one
	l.aws.OnCall(func(op, id string) {
		if op == "secretsmanager.PutSecretValue" && id == stateID && puts.Add(1) == 1 {
			close(held)
			<-release
		}
	})
	return held, release
}

// TestTicketPushDuringAMint is the interleaving of section 6: the minter reads the record, a
// ticket push is stored, then the minter writes the token with the ticket it had read. That
// push is lost, the next one (10 minutes later) is stored, and the function keeps working, on
// the newer ticket, after the older one is too old to mint with.
func TestTicketPushDuringAMint(t *testing.T) {
	l := newLifecycle(t, discard)
	ctx := t.Context()

	l.clock.Advance(time.Hour)
	lost, lostAt := l.push(t)
	held, release := l.holdPut()
	minted := make(chan error, 1)
	go func() { _, err := l.minter.Refresh(ctx, false); minted <- err }()
	<-held
	if ok, err := l.minter.StoreTicket(ctx, lost, lostAt); !ok || err != nil {
		t.Fatalf("StoreTicket during the mint = %v, %v; want stored", ok, err)
	}
	close(release)
	if err := <-minted; err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	rec := l.record(t)
	if rec["component_verify_ticket"] != emuTicket || rec["component_access_token"] == nil {
		t.Fatalf("record = %v, want the minted token beside the ticket the minter had read", rec)
	}
	if err := l.call(ctx); err != nil {
		t.Fatalf("the serving instance fails: %v", err)
	}

	l.clock.Advance(10 * time.Minute)
	next, nextAt := l.push(t)
	if ok, err := l.minter.StoreTicket(ctx, next, nextAt); !ok || err != nil {
		t.Fatalf("the next push: StoreTicket = %v, %v; want stored", ok, err)
	}
	if rec := l.record(t); rec["component_verify_ticket"] != next || rec["component_access_token"] == nil {
		t.Fatalf("record = %v, want the next ticket beside the token", rec)
	}

	// Past the 12 hours of the first ticket: only the one stored after the loss can mint.
	l.clock.Advance(11 * time.Hour)
	res, err := l.minter.Refresh(ctx, false)
	if err != nil || !res.Minted {
		t.Fatalf("Refresh with the newer ticket = %+v, %v", res, err)
	}
	l.clock.Advance(StateMaxAge)
	if err := l.call(ctx); err != nil {
		t.Errorf("the serving instance fails: %v", err)
	}
	if n := l.emu.Mints(); n != 2 {
		t.Errorf("%d mints, want 2", n)
	}
}

// TestNoSecretInErrorsOrLogs runs the lifecycle through its failures with every log line kept
// (debug included, not redacted by a handler) and scans the errors and the logs for the tokens,
// the app secret and the tickets.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	log, logs := newLogger()
	l := newLifecycle(t, log)
	ctx := t.Context()
	var errs []error
	keep := func(err error) error {
		if err != nil {
			errs = append(errs, err)
		}
		return err
	}

	keep(l.call(ctx)) // no token yet
	if _, err := l.minter.Refresh(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := l.call(ctx); err != nil {
		t.Fatal(err)
	}
	l.clock.Advance(time.Hour)
	ticket, at := l.push(t)
	if ok, err := l.minter.StoreTicket(ctx, ticket, at); !ok || err != nil {
		t.Fatalf("StoreTicket = %v, %v", ok, err)
	}

	// The store fails with a message that echoes what it holds.
	l.aws.Fail(1, storetest.Fault{Op: "secretsmanager.GetSecretValue", Code: "AccessDeniedException",
		Message: "denied reading " + ticket + " with " + testAppSecret})
	_, err := l.minter.Refresh(ctx, true)
	keep(err)
	// Every ticket is too old, then WeChat refuses a ticket of unknown age.
	l.clock.Advance(13 * time.Hour)
	_, err = l.minter.Refresh(ctx, false)
	keep(err)
	l.aws.SetSecret(stateID, recordJSON(map[string]any{"component_verify_ticket": ticket}))
	_, err = l.minter.Refresh(ctx, true)
	var apiErr *wechat.APIError
	if !errors.As(keep(err), &apiErr) || apiErr.Code != 61006 {
		t.Errorf("Refresh with an expired ticket = %v, want WeChat's 61006", err)
	}
	keep(l.call(ctx)) // the serving instance's token expired, and the record has none

	// A stored token WeChat does not know: rejected after one re-read, then within the backoff.
	l.aws.SetSecret(stateID, recordJSON(map[string]any{"component_access_token": storedToken, "expires_at": l.clock.Now().Add(time.Hour)}))
	l.clock.Advance(StateMaxAge)
	keep(l.call(ctx))
	keep(l.call(ctx))

	if len(errs) != 7 {
		t.Errorf("%d errors, want 7: %v", len(errs), errs)
	}
	assertClean(t, logs.String(), errs...)
	for _, err := range errs {
		if strings.Contains(err.Error(), ticket) {
			t.Errorf("the error %q holds the pushed ticket", err)
		}
	}
	if strings.Contains(logs.String(), ticket) {
		t.Errorf("the logs hold the pushed ticket")
	}
}
