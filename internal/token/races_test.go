// Races between writers of the state record. The stores have no conditional write, so two
// read-modify-write cycles that overlap can lose the first write; these tests hold one write
// while another writer runs and check that the record still ends up with the newest token
// (the minting lease, the re-read before a ticket write, the Refresher's last minted token)
// and that a store outage during a rejection is transient, not "run refresh with force".
package token

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/envshare/envshare/pkg/redact"

	"github.com/envshare/envshare/pkg/wechat"
)

// A ticket push read the record before a forced refresh wrote its token, and writes after it.
func TestTicketWriteAfterAForcedMintLosesTheToken(t *testing.T) {
	l := newLifecycle(t, discard)
	ctx := t.Context()
	if _, err := l.minter.Refresh(ctx, false); err != nil { // T0, valid until t0+2h
		t.Fatal(err)
	}

	l.clock.Advance(time.Hour)
	ticket, at := l.push(t)
	held, release := l.holdPut()
	stored := make(chan error, 1)
	go func() { _, err := l.minter.StoreTicket(ctx, ticket, at); stored <- err }() // has read T0
	<-held
	if _, err := l.minter.Refresh(ctx, true); err != nil { // T1; WeChat drops T0 at t0+65m
		t.Fatal(err)
	}
	close(release) // the ticket write puts T0 back, or was given up (on a busy machine)
	if err := <-stored; err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}

	// The next scheduled refresh, 20 minutes later: T0 expires in 40 minutes, so it is kept.
	l.nextScheduledRefreshServes(t)
}

// nextScheduledRefreshServes runs the scheduled refresh 20 minutes later and checks that the
// serving instances then succeed with the record's token.
func (l *lifecycle) nextScheduledRefreshServes(t *testing.T) {
	t.Helper()
	l.clock.Advance(20 * time.Minute)
	if _, err := l.minter.Refresh(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if err := l.call(t.Context()); err != nil {
		t.Errorf("after the next scheduled refresh the serving instances still fail (%v): %v", wechat.Classify(err), err)
	}
}

// Two refreshes at once (a schedule delivered twice, or POST /refresh during the schedule) on
// two instances: the one that minted first writes last.
func TestTwoRefreshesAtOnceKeepTheOlderToken(t *testing.T) {
	l := newLifecycle(t, discard)
	ctx := t.Context()
	m := l.minter // another instance's Refresher on the same record:
	other := &Refresher{State: m.State, Credentials: m.Credentials, Issuer: m.Issuer, Now: m.Now, Logger: m.Logger, Secrets: m.Secrets, Wait: instant}

	held, release := l.holdPut()
	first := make(chan error, 1)
	go func() { _, err := l.minter.Refresh(ctx, false); first <- err }() // mints TA, held before its write
	<-held
	l.clock.Advance(time.Second)
	if _, err := other.Refresh(ctx, false); err != nil { // mints TB and writes it; WeChat drops TA in 5 minutes
		t.Fatal(err)
	}
	close(release) // TA overwrites TB
	if err := <-first; err != nil {
		t.Fatal(err)
	}

	l.nextScheduledRefreshServes(t)
}

// WeChat rejects the cached token (the minter has replaced it) while the state record cannot be
// read for a moment: the answer must be transient (the platform's retry applies, and the next
// read finds the new token), not "stored token rejected: run refresh with force". Today the
// failed load serves the cached token again, which is the rejected one, so Reload reports it
// as stale, Refused, and does not read the record for StaleBackoff; the store's error is only
// in a warning.
func TestRejectionDuringAStoreOutageIsRefused(t *testing.T) {
	c := newClock()
	s, m, _ := stateSource(recordJSON(map[string]any{"component_access_token": storedToken,
		"expires_at": c.Now().Add(2 * time.Hour)}), c)
	mustToken(t, s, storedToken)
	m.mu.Lock()
	m.failGets = 1
	m.mu.Unlock()

	_, err := s.Reload(t.Context(), storedToken)
	if f := wechat.Classify(&wechat.TokenSourceError{Err: err}); f != wechat.Unavailable || !errors.Is(err, errStoreDown) {
		t.Errorf("Reload during a store outage = %v (%v), want the store's error, Unavailable", err, f)
	}
}

// A ticket write held up (a slow network, the store's own retries) while another instance
// mints must never put the older token back (issue 23 #5): the ticket writer gives its write up
// before a mint that started after its read can have finished, so the minter's lease, read
// back after it settles, is never overwritten by a write from before it. The time is a
// synctest bubble's: the minter's settle is a real wait, during which the held write's own
// deadline passes; nothing sleeps.
func TestASlowTicketWriteNeverRevertsAFreshToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now() // the bubble's clock
		m := newMemStore("state", recordJSON(map[string]any{"component_verify_ticket": storedTicket,
			"ticket_create_time": now.Add(-2 * time.Hour), "component_access_token": storedToken,
			"expires_at": now.Add(time.Hour), "minted_at": now.Add(-time.Hour)}), "creds", credsJSON(""))
		secrets, iss := redact.New(), &fakeIssuer{}
		state := StateRecord{Store: m, ID: "state", Secrets: secrets}
		reader := &CredentialsReader{Store: m, ID: "creds", Secrets: secrets}
		instance := func() *Refresher {
			return &Refresher{State: state, Credentials: reader.Read, Issuer: iss, Logger: discard, Secrets: secrets}
		}
		writer, minter := instance(), instance() // two instances: one stores a push, one refreshes

		held, release := make(chan struct{}), make(chan struct{})
		var puts atomic.Int32
		m.setHook(func(ctx context.Context, op, _ string) {
			if op == "put" && puts.Add(1) == 1 { // the ticket's write, sent after its read of T0
				close(held)
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
		})
		stored := make(chan error, 1)
		go func() {
			_, err := writer.StoreTicket(t.Context(), "ticket@@@pushed-while-minting", now)
			stored <- err
		}()
		<-held
		res, err := minter.Refresh(t.Context(), true) // the lease, its settle, the mint, the write
		if err != nil || !res.Minted {
			t.Fatalf("Refresh = %+v, %v; want minted", res, err)
		}
		close(release)
		err = <-stored
		if got := decodeRecord(t, m.value("state"))["component_access_token"]; got != mintedPrefix+"001" {
			t.Errorf("the record holds %v after the held ticket write (StoreTicket: %v), want the token minted meanwhile", got, err)
		}
	})
}
