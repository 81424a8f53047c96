package token

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/testkit"
	"github.com/envshare/envshare/pkg/redact"
	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

// minter is one instance's Refresher and Source, as the wiring builds them, on a memory store
// holding the state record ("state") and the credentials secret ("creds").
type minter struct {
	clock   *wxemu.Clock
	store   *memStore
	issuer  *fakeIssuer
	source  *Source
	logs    *testkit.Buffer
	secrets *redact.Set
	r       *Refresher
}

func newMinter(record, creds string) *minter {
	c := newClock()
	m := newMemStore("state", record, "creds", creds)
	log, logs := newLogger()
	secrets := redact.New()
	iss := &fakeIssuer{}
	state := StateRecord{Store: m, ID: "state", Secrets: secrets}
	src := NewSource(Config{Name: "state", State: &state, Now: c.Now, Logger: log, Secrets: secrets})
	reader := &CredentialsReader{Store: m, ID: "creds", Secrets: secrets, Now: c.Now}
	return &minter{clock: c, store: m, issuer: iss, source: src, logs: logs, secrets: secrets,
		r: &Refresher{State: state, Credentials: reader.Read, Issuer: iss, Source: src, Now: c.Now, Logger: log, Secrets: secrets,
			Wait: instant}}
}

// record is the state record's fields now.
func (m *minter) record(t testing.TB) map[string]any {
	t.Helper()
	return decodeRecord(t, m.store.value("state"))
}

func TestRefresh(t *testing.T) {
	withTicket := func(fields map[string]any) string {
		fields["component_verify_ticket"] = storedTicket
		fields["ticket_create_time"] = t0.Add(-2 * time.Hour)
		return recordJSON(fields)
	}

	t.Run("a record without a token gets one, keeping the ticket fields", func(t *testing.T) {
		m := newMinter(withTicket(map[string]any{}), credsJSON(""))
		res, err := m.r.Refresh(t.Context(), false)
		if err != nil {
			t.Fatal(err)
		}
		want := RefreshResult{OK: true, Action: "refresh", Minted: true, ExpiresAt: t0.Add(2 * time.Hour), TicketAgeS: 7200, TicketStored: true}
		if *res != want {
			t.Errorf("Refresh = %+v, want %+v", *res, want)
		}
		if got := m.issuer.last(); got != (wechat.ComponentTokenRequest{ComponentAppID: testAppID, ComponentAppSecret: testAppSecret, ComponentVerifyTicket: storedTicket}) {
			t.Errorf("minted with %+v, want the stored ticket", got)
		}
		rec := m.record(t)
		wantRec := map[string]any{"component_access_token": mintedPrefix + "001", "expires_at": "2026-12-01T10:00:00Z",
			"minted_at": "2026-12-01T08:00:00Z", "component_verify_ticket": storedTicket, "ticket_create_time": "2026-12-01T06:00:00Z"}
		if !equalJSON(rec, wantRec) {
			t.Errorf("record = %v, want %v", rec, wantRec)
		}
		if m.logs.Count("component access token minted and stored") != 1 {
			t.Errorf("no log line for the mint:\n%s", m.logs)
		}
		assertClean(t, m.logs.String())
	})

	for _, tc := range []struct {
		name          string
		expiresIn     time.Duration
		refreshBefore time.Duration
		force         bool
		minted        bool
	}{
		{"a token that expires in 31 minutes is kept", 31 * time.Minute, 0, false, false},
		{"a token that expires in 30 minutes is replaced", 30 * time.Minute, 0, false, true},
		{"an expired token is replaced", -time.Minute, 0, false, true},
		{"a token that expires in an hour is replaced when RefreshBefore is 90 minutes", time.Hour, 90 * time.Minute, false, true},
		{"a token that expires in 20 minutes is kept when RefreshBefore is 10 minutes", 20 * time.Minute, 10 * time.Minute, false, false},
		{"force replaces a token that expires in two hours", 2 * time.Hour, 0, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMinter(withTicket(map[string]any{"component_access_token": storedToken,
				"expires_at": t0.Add(tc.expiresIn), "minted_at": t0.Add(tc.expiresIn - 2*time.Hour)}), credsJSON(""))
			m.r.RefreshBefore = tc.refreshBefore
			res, err := m.r.Refresh(t.Context(), tc.force)
			if err != nil {
				t.Fatal(err)
			}
			wantToken, wantExpiry := storedToken, t0.Add(tc.expiresIn)
			if tc.minted {
				wantToken, wantExpiry = mintedPrefix+"001", t0.Add(2*time.Hour)
			}
			if res.Minted != tc.minted || !res.ExpiresAt.Equal(wantExpiry) || res.TicketAgeS != 7200 {
				t.Errorf("Refresh = %+v, want minted %v, expiring %v", *res, tc.minted, wantExpiry)
			}
			if got := m.record(t)["component_access_token"]; got != wantToken {
				t.Errorf("the record holds %v, want %v", got, wantToken)
			}
			if _, puts := m.store.counts(); puts != 2*m.issuer.calls() {
				t.Errorf("%d writes for %d mints: a mint writes the lease and the token; a refresh that does not mint writes nothing", puts, m.issuer.calls())
			}
			gets, _ := m.store.counts()
			mustToken(t, m.source, wantToken) // this instance's Source is told, without a read
			if after, _ := m.store.counts(); after != gets {
				t.Error("the Source read the record again")
			}
		})
	}

	t.Run("fields of other writers are kept as read", func(t *testing.T) {
		m := newMinter(withTicket(map[string]any{"note": "kept by every writer", "nested": map[string]any{"a": 1.0}}), credsJSON(""))
		if _, err := m.r.Refresh(t.Context(), false); err != nil {
			t.Fatal(err)
		}
		rec := m.record(t)
		if rec["note"] != "kept by every writer" || !equalJSON(rec["nested"], map[string]any{"a": 1.0}) || rec["component_verify_ticket"] != storedTicket {
			t.Errorf("record = %v", rec)
		}
	})

	t.Run("the seed ticket in the credentials is used while the record holds none", func(t *testing.T) {
		m := newMinter(`{}`, credsJSON(seedTicket))
		res, err := m.r.Refresh(t.Context(), false)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.issuer.last().ComponentVerifyTicket; got != seedTicket || res.TicketAgeS != 0 || res.TicketStored {
			t.Errorf("minted with %q (age %d s, stored %v), want the seed (age unknown: 0, none stored)", got, res.TicketAgeS, res.TicketStored)
		}
		if _, ok := m.record(t)["component_verify_ticket"]; ok {
			t.Error("the seed was written into the record: only pushed tickets are stored")
		}
	})

	t.Run("the stored ticket wins over the seed", func(t *testing.T) {
		m := newMinter(withTicket(map[string]any{}), credsJSON(seedTicket))
		if _, err := m.r.Refresh(t.Context(), false); err != nil {
			t.Fatal(err)
		}
		if got := m.issuer.last().ComponentVerifyTicket; got != storedTicket {
			t.Errorf("minted with %q, want the stored ticket", got)
		}
	})

	t.Run("no ticket stored nor seeded is ErrNoTicket", func(t *testing.T) {
		m := newMinter(`{}`, credsJSON(""))
		_, err := m.r.Refresh(t.Context(), false)
		if !errors.Is(err, ErrNoTicket) || !strings.Contains(err.Error(), "/wechat/events") {
			t.Errorf("Refresh error = %v, want ErrNoTicket", err)
		}
		if m.issuer.calls() != 0 {
			t.Error("minted without a ticket")
		}
	})

	t.Run("a stored ticket older than 12 hours is ErrTicketTooOld, naming its age", func(t *testing.T) {
		m := newMinter(recordJSON(map[string]any{"component_verify_ticket": storedTicket,
			"ticket_create_time": t0.Add(-12*time.Hour - time.Minute)}), credsJSON(seedTicket))
		_, err := m.r.Refresh(t.Context(), false)
		if !errors.Is(err, ErrTicketTooOld) || !strings.Contains(err.Error(), "12h1m0s old") {
			t.Errorf("Refresh error = %v, want ErrTicketTooOld", err)
		}
		if m.issuer.calls() != 0 {
			t.Error("minted with a ticket WeChat refuses")
		}
		assertClean(t, "", err)
	})

	t.Run("credentials without the app secret cannot mint", func(t *testing.T) {
		m := newMinter(withTicket(map[string]any{}), `{"component_appid":"`+testAppID+`"}`)
		_, err := m.r.Refresh(t.Context(), false)
		if err == nil || !strings.Contains(err.Error(), "lacks component_appid or component_appsecret") {
			t.Errorf("Refresh error = %v", err)
		}
	})

	t.Run("WeChat's refusal is the error, without the secrets it may echo", func(t *testing.T) {
		m := newMinter(withTicket(map[string]any{}), credsJSON(""))
		m.issuer.fail(&wechat.APIError{Endpoint: "api_component_token", Code: 61006,
			Msg: "component_verify_ticket " + storedTicket + " invalid for secret " + testAppSecret})
		_, err := m.r.Refresh(t.Context(), false)
		var apiErr *wechat.APIError
		if !errors.As(err, &apiErr) || apiErr.Code != 61006 {
			t.Fatalf("Refresh error = %v, want WeChat's 61006", err)
		}
		if rec := m.record(t); rec["component_access_token"] != nil || rec["minting_by"] != nil {
			t.Errorf("a refused mint left %v in the record: no token, and the lease given up", rec)
		}
		assertClean(t, m.logs.String(), err)
	})

	t.Run("a failed write is an error, and the next refresh writes that token first", func(t *testing.T) {
		m := newMinter(withTicket(map[string]any{}), credsJSON(""))
		m.store.failPut(2) // the lease is taken; the token's write fails
		_, err := m.r.Refresh(t.Context(), false)
		if !errors.Is(err, errStoreDown) || !strings.Contains(err.Error(), "the next refresh writes it first") {
			t.Fatalf("Refresh error = %v", err)
		}
		if _, ok := m.record(t)["component_access_token"]; ok {
			t.Fatal("the record holds a token after a failed write")
		}

		m.clock.Advance(20 * time.Minute)
		if _, err := m.r.Refresh(t.Context(), false); err != nil {
			t.Fatal(err)
		}
		rec := m.record(t)
		if rec["component_access_token"] != mintedPrefix+"001" || rec["minted_at"] != "2026-12-01T08:00:00Z" || m.issuer.calls() != 1 {
			t.Errorf("record = %v after %d mints; want the first token, minted once", rec, m.issuer.calls())
		}
		mustToken(t, m.source, mintedPrefix+"001")
	})

	t.Run("a token whose write failed is not written once it has expired", func(t *testing.T) {
		m := newMinter(withTicket(map[string]any{}), credsJSON(""))
		m.store.failPut(2)
		if _, err := m.r.Refresh(t.Context(), false); err == nil {
			t.Fatal("no error")
		}
		m.clock.Advance(3 * time.Hour)
		if _, err := m.r.Refresh(t.Context(), false); err != nil {
			t.Fatal(err)
		}
		if got := m.record(t)["component_access_token"]; got != mintedPrefix+"002" {
			t.Errorf("the record holds %v, want a new token", got)
		}
	})

	// The record's token, due for a refresh but still usable while another refresh mints.
	expiring := map[string]any{"component_access_token": storedToken, "expires_at": t0.Add(10 * time.Minute),
		"minted_at": t0.Add(-110 * time.Minute)}
	leased := func(fields map[string]any) map[string]any {
		out := map[string]any{"minting_by": "other-instance", "minting_until": t0.Add(leaseTTL)}
		maps.Copy(out, fields)
		return out
	}

	t.Run("a refresh stands down while another instance holds the minting lease, and mints once it lapses", func(t *testing.T) {
		m := newMinter(withTicket(leased(expiring)), credsJSON(""))
		res, err := m.r.Refresh(t.Context(), true)
		if err != nil || res.Minted || m.issuer.calls() != 0 || !res.ExpiresAt.Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("Refresh during another's lease = %+v, %v, %d mints; want OK, not minted, the stored expiry", res, err, m.issuer.calls())
		}
		if _, puts := m.store.counts(); puts != 0 {
			t.Errorf("%d writes during another's lease, want none", puts)
		}
		m.clock.Advance(leaseTTL) // the other instance died mid-mint: its lease lapses
		if res, err := m.r.Refresh(t.Context(), true); err != nil || !res.Minted {
			t.Fatalf("Refresh after the lease lapsed = %+v, %v; want minted", res, err)
		}
		if rec := m.record(t); rec["minting_by"] != nil || rec["minting_until"] != nil {
			t.Errorf("record after the mint = %v, want the lease given up", rec)
		}
	})

	// A failed mint's leftover lease (issue 23 #6): a refresh that finds another's lease and no
	// token it could serve must fail, so that the invocation fails and the alarm fires, never
	// answer ok with no expiry while no token is stored and nobody mints.
	for name, fields := range map[string]map[string]any{
		"no token":         {},
		"an expired token": {"component_access_token": storedToken, "expires_at": t0.Add(-time.Minute), "minted_at": t0.Add(-2 * time.Hour)},
	} {
		t.Run("a refresh that finds another's lease and "+name+" fails", func(t *testing.T) {
			m := newMinter(withTicket(leased(fields)), credsJSON(""))
			res, err := m.r.Refresh(t.Context(), false)
			if !errors.Is(err, ErrLeaseHeld) || res != nil || m.issuer.calls() != 0 {
				t.Fatalf("Refresh = %+v, %v, %d mints; want ErrLeaseHeld, no answer, no mint", res, err, m.issuer.calls())
			}
			if !strings.Contains(err.Error(), t0.Add(leaseTTL).Format(time.RFC3339)) {
				t.Errorf("the error %q does not say when the lease lapses", err)
			}
		})
	}

	t.Run("of two refreshes that both wrote a lease, only the one written last mints", func(t *testing.T) {
		m := newMinter(withTicket(maps.Clone(expiring)), credsJSON(""))
		m.r.Wait = func(ctx context.Context, _ time.Duration) error {
			// While this refresh settles, another instance writes its own lease over ours.
			rec := m.record(t)
			rec["minting_by"], rec["minting_until"] = "other-instance", t0.Add(leaseTTL).Format(time.RFC3339)
			b, _ := json.Marshal(rec)
			m.store.set("state", string(b))
			return ctx.Err()
		}
		res, err := m.r.Refresh(t.Context(), false)
		if err != nil || res.Minted || m.issuer.calls() != 0 {
			t.Errorf("Refresh that lost the lease = %+v, %v, %d mints; want OK, not minted", res, err, m.issuer.calls())
		}
	})

	t.Run("the answer never holds the token", func(t *testing.T) {
		m := newMinter(withTicket(map[string]any{}), credsJSON(""))
		res, err := m.r.Refresh(t.Context(), true)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		var keys map[string]any
		json.Unmarshal(b, &keys)
		if strings.Contains(string(b), mintedPrefix) || len(keys) != 5 {
			t.Errorf("answer %s", b)
		}
	})
}

func TestStoreTicket(t *testing.T) {
	const newer = "ticket@@@newer-0123456789"
	stored := func(extra map[string]any) string {
		fields := map[string]any{"component_verify_ticket": storedTicket, "ticket_create_time": t0,
			"component_access_token": storedToken, "expires_at": t0.Add(2 * time.Hour), "minted_at": t0, "note": "kept"}
		for k, v := range extra {
			fields[k] = v
		}
		return recordJSON(fields)
	}
	for _, tc := range []struct {
		name        string
		record      string
		ticket      string
		created     time.Time
		ticketEvery time.Duration
		stored      bool
	}{
		{"a ticket is stored when the record holds none", `{"note":"kept"}`, newer, t0, 0, true},
		{"a newer ticket is stored an hour after the stored one", stored(nil), newer, t0.Add(time.Hour), 0, true},
		{"a newer ticket is not stored 50 minutes after the stored one", stored(nil), newer, t0.Add(50 * time.Minute), 0, false},
		{"a newer ticket is stored 10 minutes after the stored one when TicketEvery is 10 minutes", stored(nil), newer, t0.Add(10 * time.Minute), 10 * time.Minute, true},
		{"a newer ticket is stored 10 seconds after the stored one when every ticket is stored (ENVSHARE_TICKET_WRITE_INTERVAL=0s)", stored(nil), newer, t0.Add(10 * time.Second), StoreEveryTicket, true},
		{"a ticket as old as the stored one is not stored when every ticket is stored", stored(nil), newer, t0, StoreEveryTicket, false},
		{"the same ticket pushed again later is not written again", stored(nil), storedTicket, t0.Add(2 * time.Hour), 0, false},
		{"an older ticket never replaces a newer one", stored(nil), newer, t0.Add(-2 * time.Hour), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMinter(tc.record, credsJSON(""))
			m.r.TicketEvery = tc.ticketEvery
			before := m.store.value("state")
			ok, err := m.r.StoreTicket(t.Context(), tc.ticket, tc.created)
			if err != nil || ok != tc.stored {
				t.Fatalf("StoreTicket = %v, %v; want %v", ok, err, tc.stored)
			}
			if _, puts := m.store.counts(); !tc.stored && puts != 0 {
				t.Errorf("%d writes, want none", puts)
			}
			rec, was := m.record(t), decodeRecord(t, before)
			if tc.stored {
				was["component_verify_ticket"], was["ticket_create_time"] = tc.ticket, tc.created.Format(time.RFC3339)
			}
			if !equalJSON(rec, was) {
				t.Errorf("record = %v, want %v: the token fields and other fields kept", rec, was)
			}
			if !strings.Contains(m.secrets.String(tc.ticket), redact.Mask) {
				t.Error("the pushed ticket was not learnt as a secret")
			}
		})
	}

	t.Run("a push is not stored while a refresh holds the minting lease", func(t *testing.T) {
		m := newMinter(stored(map[string]any{"minting_by": "other-instance", "minting_until": t0.Add(leaseTTL)}), credsJSON(""))
		if ok, err := m.r.StoreTicket(t.Context(), newer, t0.Add(time.Hour)); ok || err != nil {
			t.Errorf("StoreTicket during a lease = %v, %v; want not stored (the next push is)", ok, err)
		}
	})

	t.Run("a ticket stored from the future never locks the record (issue 23 #10)", func(t *testing.T) {
		// A ticket_create_time a day ahead, written before such pushes were refused: the
		// genuine tickets after it are stored all the same.
		m := newMinter(recordJSON(map[string]any{"component_verify_ticket": "ticket@@@from-the-future",
			"ticket_create_time": t0.Add(24 * time.Hour)}), credsJSON(""))
		if ok, err := m.r.StoreTicket(t.Context(), newer, t0); !ok || err != nil {
			t.Fatalf("StoreTicket of a genuine ticket = %v, %v; want stored", ok, err)
		}
		if got := m.record(t)["component_verify_ticket"]; got != newer {
			t.Fatalf("the record holds %v", got)
		}
		// Up to 5 minutes ahead is the clock's tolerance: still newer.
		m = newMinter(recordJSON(map[string]any{"component_verify_ticket": storedTicket, "ticket_create_time": t0.Add(4 * time.Minute)}), credsJSON(""))
		if ok, err := m.r.StoreTicket(t.Context(), newer, t0); ok || err != nil {
			t.Fatalf("StoreTicket of an older ticket = %v, %v; want not stored", ok, err)
		}
	})

	t.Run("with an external owner a ticket write never puts back a token older than the backend's", func(t *testing.T) {
		m := newMinter(stored(nil), credsJSON(""))
		m.r.External = true
		reads := 0
		m.store.setHook(func(_ context.Context, op, _ string) {
			if op == "get" {
				if reads++; reads == 2 { // the backend writes its token between the writer's two reads
					m.store.set("state", stored(map[string]any{"component_access_token": "backend-token-0002", "expires_at": t0.Add(3 * time.Hour)}))
				}
			}
		})
		if ok, err := m.r.StoreTicket(t.Context(), newer, t0.Add(time.Hour)); ok || err != nil {
			t.Fatalf("StoreTicket = %v, %v; want not stored", ok, err)
		}
		if got := m.record(t)["component_access_token"]; got != "backend-token-0002" {
			t.Fatalf("the record holds the token %v, want the backend's", got)
		}
		m.store.setHook(nil)
		if ok, err := m.r.StoreTicket(t.Context(), newer, t0.Add(time.Hour)); !ok || err != nil {
			t.Fatalf("the next push: StoreTicket = %v, %v; want stored", ok, err)
		}
		if rec := m.record(t); rec["component_access_token"] != "backend-token-0002" || rec["component_verify_ticket"] != newer {
			t.Fatalf("record %v", rec)
		}
	})

	t.Run("a failed write is an error and stores nothing", func(t *testing.T) {
		m := newMinter(`{}`, credsJSON(""))
		m.store.failPuts = 1
		ok, err := m.r.StoreTicket(t.Context(), newer, t0)
		if ok || !errors.Is(err, errStoreDown) || !strings.Contains(err.Error(), `write the state record "state"`) {
			t.Errorf("StoreTicket = %v, %v", ok, err)
		}
		assertClean(t, "", err)
	})
}

// equalJSON compares two JSON-decoded values.
func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
