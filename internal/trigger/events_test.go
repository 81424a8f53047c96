package trigger

import (
	"context"
	"fmt"
	"maps"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/wxcrypt"
	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

// counts of what the loop's pushes gave: share and unshare calls, notifications by action.
func (l *loop) counts() (shares, unshares int, notices map[string]int) {
	notices = map[string]int{}
	for _, a := range l.notices.actions() {
		notices[a]++
	}
	return l.emu.Calls(wxemu.EndpointShare), l.emu.Calls(wxemu.EndpointUnshare), notices
}

// pushOK pushes an event and wants "success".
func (l *loop) pushOK(t *testing.T, ev wxcrypt.Event) {
	t.Helper()
	if resp := l.push(t, ev, nil); resp.Status != 200 || resp.Body != "success" {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
}

// Issue 23 #3, without a ledger: an older authorization event never undoes a newer one within
// the instance; an equal CreateTime (a replay of the newest) acts again once the copies'
// window has passed.
func TestAnOldUnauthorizedNeverUndoesANewerAuthorizationWithinTheInstance(t *testing.T) {
	const t1, t2 = 1_700_000_000, 1_700_000_060
	unauthorized := wxcrypt.Event{InfoType: wxcrypt.InfoUnauthorized, AuthorizerAppID: newApp, CreateTime: t1}
	authorized := wxcrypt.Event{InfoType: wxcrypt.InfoAuthorized, AuthorizerAppID: newApp, CreateTime: t2}

	t.Run("a late unauthorized after a newer authorized", func(t *testing.T) {
		l := newLoop(t, map[string]string{"ENVSHARE_OFFBOARD": "unshare"}, false)
		mintWithApp(t, l, newApp)
		l.pushOK(t, authorized)
		l.pushOK(t, unauthorized) // delivered late: WeChat re-pushes what was not answered in 5 s
		if shares, unshares, _ := l.counts(); shares != 1 || unshares != 0 {
			t.Fatalf("%d shares, %d unshares: the late unauthorized undid the newer authorization", shares, unshares)
		}
		if !strings.Contains(l.logs.String(), "older than the newest one this instance took up") {
			t.Error("the ignored event is not logged")
		}
	})
	t.Run("an older authorized after a newer unauthorized", func(t *testing.T) {
		l := newLoop(t, map[string]string{"ENVSHARE_OFFBOARD": "unshare"}, false)
		mintWithApp(t, l, newApp)
		l.pushOK(t, wxcrypt.Event{InfoType: wxcrypt.InfoUnauthorized, AuthorizerAppID: newApp, CreateTime: t2})
		l.pushOK(t, wxcrypt.Event{InfoType: wxcrypt.InfoAuthorized, AuthorizerAppID: newApp, CreateTime: t1})
		if shares, unshares, _ := l.counts(); shares != 0 || unshares != 1 {
			t.Fatalf("%d shares, %d unshares", shares, unshares)
		}
	})
	t.Run("a replay of the newest acts again after the copies' window; another kind at the same time acts at once", func(t *testing.T) {
		l := newLoop(t, map[string]string{"ENVSHARE_OFFBOARD": "unshare"}, false)
		mint(t, l)
		now := time.Unix(t2, 0)
		l.app.now = func() time.Time { return now }
		l.emu.Seed(withApp(newApp))
		l.pushOK(t, authorized)
		l.pushOK(t, authorized) // a copy: collapsed
		if shares, _, _ := l.counts(); shares != 1 {
			t.Fatalf("%d shares after a copy, want 1", shares)
		}
		now = now.Add(duplicateWindow)
		l.pushOK(t, authorized) // a replay: the contract's equal CreateTime acts again
		l.pushOK(t, wxcrypt.Event{InfoType: wxcrypt.InfoUnauthorized, AuthorizerAppID: newApp, CreateTime: t2})
		if shares, unshares, _ := l.counts(); shares != 2 || unshares != 1 {
			t.Fatalf("%d shares, %d unshares; want 2 and 1", shares, unshares)
		}
	})
	t.Run("the memory is bounded: the appid pushed least recently is forgotten first", func(t *testing.T) {
		var m pushMemory
		clock := func() time.Time { return time.Unix(t2, 0) }
		for i := range maxRemembered + 1 {
			_, done, _ := m.take(t.Context(), fmt.Sprintf("wx%016x", i), "authorized", t2, clock)
			done()
		}
		if m.lru.Len() != maxRemembered || len(m.byApp) != maxRemembered {
			t.Fatalf("%d remembered", m.lru.Len())
		}
	})
}

// Issue 23 #10: a push whose CreateTime is more than 5 minutes ahead of the function's clock is
// never stored or acted on, tickets included; up to 5 minutes ahead is the clock's tolerance.
func TestAPushFromTheFutureIsNeverStoredOrActedOn(t *testing.T) {
	l := newLoop(t, nil, false)
	now := time.Now().Truncate(time.Second)
	l.app.now = func() time.Time { return now }
	future := now.Add(wxcrypt.MaxAhead + time.Second).Unix()

	l.pushOK(t, wxcrypt.Event{InfoType: wxcrypt.InfoComponentVerifyTicket, ComponentVerifyTicket: "ticket@@@from-the-future", CreateTime: future})
	if got := l.record(t)["component_verify_ticket"]; got != nil {
		t.Fatalf("a ticket from the future was stored: %v", got)
	}
	if !strings.Contains(l.logs.String(), "from the future ignored") {
		t.Error("the push from the future is not logged")
	}
	genuine, err := l.emu.PushTicket(t.Context()) // WeChat's next push, on the emulator's (real) clock
	if err != nil {
		t.Fatal(err)
	}
	if got := l.record(t)["component_verify_ticket"]; got != genuine {
		t.Fatalf("the genuine ticket after it: the record holds %v", got)
	}
	if _, err := Answer(l.app.Message(t.Context(), []byte(`{"action":"refresh"}`))); err != nil { // mints with it
		t.Fatal(err)
	}
	l.emu.Seed(withApp(newApp))
	l.pushOK(t, wxcrypt.Event{InfoType: wxcrypt.InfoAuthorized, AuthorizerAppID: newApp, CreateTime: future})
	if shares, _, notices := l.counts(); shares != 0 || notices["authorization"] != 0 {
		t.Fatalf("an authorized from the future acted: %d shares, notices %v", shares, notices)
	}
	// Its memory holds nothing from the future either: a genuine event right after acts.
	l.pushOK(t, wxcrypt.Event{InfoType: wxcrypt.InfoAuthorized, AuthorizerAppID: newApp, CreateTime: now.Add(wxcrypt.MaxAhead).Unix()})
	if shares, _, _ := l.counts(); shares != 1 {
		t.Fatalf("%d shares, want 1", shares)
	}
}

// The decrypted message's own AppId element must be the platform's (issue 23, Also), besides the
// appid that ends the plaintext: a push naming another platform is 400, nothing stored.
func TestAPushWhoseMessageNamesAnotherPlatformIsRefused(t *testing.T) {
	l := newLoop(t, nil, false)
	sealer, err := wxemu.NewSealer(loopMsgToken, loopAESKey, loopAppID) // the trailing appid is the platform's
	if err != nil {
		t.Fatal(err)
	}
	msg := "<xml><AppId><![CDATA[wx0ther0ther0ther0]]></AppId><CreateTime>1700000000</CreateTime>" +
		"<InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@another-platforms]]></ComponentVerifyTicket></xml>"
	body, sig := sealer.Seal([]byte(msg), "1700000000", "nonce1")
	resp := l.app.HTTP(t.Context(), HTTPRequest{Method: "POST", Path: "/wechat/events", Body: string(body),
		Query: map[string][]string{"timestamp": {"1700000000"}, "nonce": {"nonce1"}, "msg_signature": {sig}}})
	if resp.Status != 400 || resp.Body != "malformed message" {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
	if got := l.record(t)["component_verify_ticket"]; got != nil {
		t.Fatalf("stored %v", got)
	}
	if !strings.Contains(l.logs.String(), "AppId element is not the platform") {
		t.Error("the cause is not logged")
	}
}

// Issue 23, Also: 30 identical authorized pushes at once gave 30 share calls and 60
// notifications; now they give what one push gives: one share call, its link notification and
// one notification of the event.
func TestDuplicatePushesAreCollapsed(t *testing.T) {
	const copies = 30
	ev := wxcrypt.Event{InfoType: wxcrypt.InfoAuthorized, AuthorizerAppID: newApp, CreateTime: 1_700_000_000}

	t.Run("without a ledger, in one instance", func(t *testing.T) {
		l := newLoop(t, nil, false)
		mintWithApp(t, l, newApp)
		var wg sync.WaitGroup
		for range copies {
			wg.Go(func() { l.pushOK(t, ev) })
		}
		wg.Wait()
		if shares, _, notices := l.counts(); shares != 1 || notices["authorization"] != 1 || notices["share"] != 1 {
			t.Fatalf("%d share calls, notifications %v; want 1 share call, 1 share and 1 authorization notification", shares, notices)
		}
		t.Logf("%d concurrent copies: 1 share call, notifications %v", copies, l.notices.actions())
	})

	t.Run("with a ledger, across instances", func(t *testing.T) {
		// Three instances on one ledger (one SQLite file), ten copies each at once: the ledger's
		// record of the event taken up collapses the copies that reach other instances.
		first := newLedgerApp(t, nil)
		apps := []*ledgerApp{first, anotherInstance(t, first, nil), anotherInstance(t, first, nil)}
		var wg sync.WaitGroup
		for i := range copies {
			l := apps[i%len(apps)]
			wg.Go(func() { l.push(t, wxcrypt.InfoAuthorized, acmeApp, l.now.Add(-time.Minute)) })
		}
		wg.Wait()
		infos := first.info.calls // the instances share it
		if shares := first.emu.Calls(wxemu.EndpointShare); shares != 1 || first.count() != 2 || infos != 1 {
			t.Fatalf("%d share calls, %d notifications (%v), %d info calls; want 1, 2 (the share's link and the event), 1",
				shares, first.count(), first.notices.actions(), infos)
		}
		a := first.authorizer(t, acmeApp)
		if a.Handling.Event != "authorized" || !a.Authorized || a.LastEvent != "authorized" {
			t.Fatalf("ledger %+v", a)
		}
	})
}

// anotherInstance is another instance of first's deployment: the same ledger, WeChat,
// notification receiver and authorizer info, initialised at once (the configuration is the
// process's environment, which the next newLedgerApp changes).
func anotherInstance(t *testing.T, first *ledgerApp, env map[string]string) *ledgerApp {
	t.Helper()
	inst, se := first.app.instance(t.Context())
	if se != nil {
		t.Fatal(se)
	}
	vars := map[string]string{"ENVSHARE_LEDGER": inst.cfg.Ledger, "ENVSHARE_WECHAT_BASE_URL": inst.cfg.WechatBaseURL,
		"ENVSHARE_NOTIFY_URL": inst.cfg.NotifyURL}
	maps.Copy(vars, env)
	l := newLedgerApp(t, vars)
	l.emu, l.notices, l.info, l.now = first.emu, first.notices, first.info, first.now
	if _, se := l.app.instance(t.Context()); se != nil {
		t.Fatal(se)
	}
	return l
}

// Issue 23 #3 with a ledger: the order holds for replays and late deliveries across
// instances (each test step on a fresh instance, the ledger shared), an equal CreateTime acts
// again, and a time recorded from the future never locks an appid.
func TestTheLedgerKeepsTheOrderAcrossInstances(t *testing.T) {
	unshare := map[string]string{"ENVSHARE_OFFBOARD": "unshare"}
	base := newLedgerApp(t, unshare)
	fresh := func() *ledgerApp { return anotherInstance(t, base, unshare) }
	t0 := base.now.Add(-10 * time.Minute)
	steps := []struct {
		name     string
		event    string
		at       time.Time
		unshares int // unshare calls in all, after the step
		shares   int
	}{
		{"authorized", wxcrypt.InfoAuthorized, t0.Add(time.Minute), 0, 1},
		{"a late unauthorized, older: ignored", wxcrypt.InfoUnauthorized, t0, 0, 1},
		{"a replay of the newest on another instance, after the window: acts again", wxcrypt.InfoAuthorized, t0.Add(time.Minute), 0, 2},
		{"a newer unauthorized: unshares", wxcrypt.InfoUnauthorized, t0.Add(2 * time.Minute), 1, 2},
		{"the older authorized, re-pushed late: ignored", wxcrypt.InfoAuthorized, t0.Add(time.Minute), 1, 2},
	}
	for i, s := range steps {
		l := fresh()
		l.now = base.now.Add(time.Duration(i) * duplicateWindow) // each step after the copies' window
		l.push(t, s.event, acmeApp, s.at)
		if got, want := [2]int{base.emu.Calls(wxemu.EndpointShare), base.emu.Calls(wxemu.EndpointUnshare)}, [2]int{s.shares, s.unshares}; got != want {
			t.Fatalf("after %q: %d shares, %d unshares; want %v", s.name, got[0], got[1], want)
		}
	}
	t.Run("a time recorded from the future never counts as newer", func(t *testing.T) {
		_, err := base.core.Fleet.Ledger.UpdateAuthorizer(t.Context(), globexApp, func(a *ledger.Authorizer) (bool, error) {
			a.LastEvent, a.LastEventTime = "unauthorized", base.now.Add(48*time.Hour)
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		l := fresh()
		l.push(t, wxcrypt.InfoAuthorized, globexApp, base.now.Add(-time.Minute))
		if a := l.authorizer(t, globexApp); !a.Authorized || !a.LastEventTime.Equal(base.now.Add(-time.Minute).UTC().Truncate(time.Second)) {
			t.Fatalf("ledger %+v", a)
		}
	})
}

// TestRefreshWithAnExternalOwner: with ENVSHARE_TOKEN_OWNER=external, refresh answers
// invalid_request ("the token is owned externally") and mints nothing; ticket pushes are still
// stored when a state record is set; the backend's token is the one used.
func TestRefreshWithAnExternalOwner(t *testing.T) {
	l := newLoop(t, map[string]string{"ENVSHARE_TOKEN_OWNER": config.OwnerExternal}, false)
	_, err := Answer(l.app.Message(t.Context(), []byte(`{"action":"refresh","force":true}`)))
	if err == nil || !strings.Contains(err.Error(), "invalid_request") || !strings.Contains(err.Error(), "the token is owned externally") {
		t.Fatalf("refresh: %v", err)
	}
	resp := l.app.HTTP(t.Context(), HTTPRequest{Method: "POST", Path: "/refresh", Headers: bearer()})
	if resp.Status != 400 || !strings.Contains(resp.Body, "the token is owned externally") {
		t.Fatalf("POST /refresh: %d %s", resp.Status, resp.Body)
	}
	ticket, err := l.emu.PushTicket(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := l.record(t)["component_verify_ticket"]; got != ticket {
		t.Fatalf("the ticket push was not stored: %v", got)
	}
	// The backend mints with the stored ticket and writes the token; envshare uses it.
	minted, err := wechat.New(os.Getenv("ENVSHARE_WECHAT_BASE_URL"), nil).ComponentToken(t.Context(),
		&wechat.ComponentTokenRequest{ComponentAppID: loopAppID, ComponentAppSecret: loopAppSecret, ComponentVerifyTicket: ticket})
	if err != nil {
		t.Fatal(err)
	}
	rec := l.record(t)
	rec["component_access_token"] = minted.ComponentAccessToken
	rec["expires_at"] = time.Now().Add(time.Duration(minted.ExpiresIn) * time.Second).UTC().Format(time.RFC3339)
	writeJSON(t, l.state, rec)
	resp = l.app.HTTP(t.Context(), HTTPRequest{Method: "GET", Path: "/bindings", Headers: bearer(), Query: map[string][]string{"appids": {"wx5fe6bb43205e9e07"}}})
	if resp.Status != 200 || l.emu.Mints() != 1 || l.emu.Calls(wxemu.EndpointGetEnvID) != 1 {
		t.Fatalf("%d %s, %d mints (want the backend's only)", resp.Status, resp.Body, l.emu.Mints())
	}
}

// retryRecorder is a Cloud's Retry that records the messages it is handed (under mu).
func retryRecorder(messages *[]string, mu *sync.Mutex) func(config.Config) (Retry, error) {
	return func(config.Config) (Retry, error) {
		return func(_ context.Context, m string) error {
			mu.Lock()
			defer mu.Unlock()
			*messages = append(*messages, m)
			return nil
		}, nil
	}
}

// ENVSHARE_TICKET_WRITE_INTERVAL=0s is documented as valid: every newer ticket that differs is
// stored, not one an hour.
func TestATicketWriteIntervalOfZeroStoresEveryNewerTicket(t *testing.T) {
	l := newLoop(t, map[string]string{"ENVSHARE_TICKET_WRITE_INTERVAL": "0s"}, false)
	ctx := context.Background()
	inst, se := l.app.instance(ctx)
	if se != nil {
		t.Fatal(se)
	}
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i, ticket := range []string{"ticket@@@zero-interval-first", "ticket@@@zero-interval-second"} {
		stored, err := inst.Refresher.StoreTicket(ctx, ticket, at.Add(time.Duration(i)*10*time.Second))
		if err != nil || !stored {
			t.Fatalf("ticket %d pushed 10 s after the stored one: stored %v, %v; want stored", i+1, stored, err)
		}
	}
	if got := l.record(t)["component_verify_ticket"]; got != "ticket@@@zero-interval-second" {
		t.Errorf("the record holds %v, want the second ticket", got)
	}
}
