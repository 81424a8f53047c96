package token

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

func TestSourceWithoutStateRecord(t *testing.T) {
	t.Run("a bare token is read once and then served from the cache", func(t *testing.T) {
		c := newClock()
		s, m := credsSource("tok-bare-0001", &fakeIssuer{}, c)
		for range 5 {
			if tok, err := s.Token(t.Context()); err != nil || tok != "tok-bare-0001" {
				t.Fatalf("Token() = %q, %v", tok, err)
			}
			c.Advance(time.Hour)
		}
		if gets, _ := m.counts(); gets != 1 {
			t.Errorf("%d reads, want 1", gets)
		}
	})

	t.Run("a minted token is served until five minutes before it expires, then minted again", func(t *testing.T) {
		c := newClock()
		iss := &fakeIssuer{}
		s, _ := credsSource(credsJSON(seedTicket), iss, c)
		mustToken(t, s, mintedPrefix+"001")
		c.Advance(7200*time.Second - 5*time.Minute - time.Second)
		mustToken(t, s, mintedPrefix+"001")
		c.Advance(time.Second)
		mustToken(t, s, mintedPrefix+"002")
		if iss.calls() != 2 {
			t.Errorf("%d mints, want 2", iss.calls())
		}
	})

	t.Run("a short-lived minted token is renewed a tenth of its life before it expires", func(t *testing.T) {
		c := newClock()
		iss := &fakeIssuer{expiresIn: 600}
		s, _ := credsSource(credsJSON(seedTicket), iss, c)
		mustToken(t, s, mintedPrefix+"001")
		c.Advance(539 * time.Second)
		mustToken(t, s, mintedPrefix+"001")
		c.Advance(time.Second)
		mustToken(t, s, mintedPrefix+"002")
	})

	t.Run("a cached minted token is served while a refresh fails, and minting is tried again every 30 s", func(t *testing.T) {
		c := newClock()
		log, logs := newLogger()
		iss := &fakeIssuer{}
		m := newMemStore("creds", credsJSON(seedTicket))
		s := NewSource(Config{Name: "file", Credentials: m, CredentialsID: "creds", Issuer: iss, Now: c.Now, Logger: log})
		mustToken(t, s, mintedPrefix+"001")
		iss.fail(&wechat.APIError{Endpoint: "api_component_token", Code: -1, Msg: "system error"})

		c.Advance(7200*time.Second - 4*time.Minute) // past the renewal time
		mustToken(t, s, mintedPrefix+"001")
		c.Advance(29 * time.Second)
		mustToken(t, s, mintedPrefix+"001")
		if iss.calls() != 2 {
			t.Errorf("%d mints, want 2: one failed refresh in the first 30 s", iss.calls())
		}
		c.Advance(time.Second)
		mustToken(t, s, mintedPrefix+"001")
		if iss.calls() != 3 {
			t.Errorf("%d mints, want 3: tried again after 30 s", iss.calls())
		}
		if logs.Count("serving the cached token") != 2 {
			t.Errorf("want one warning per failed refresh:\n%s", logs)
		}

		c.Advance(4 * time.Minute) // expired now
		_, err := s.Token(t.Context())
		if err == nil || !strings.Contains(err.Error(), "system error") {
			t.Errorf("Token after expiry = %v, want the refresh's error", err)
		}
		assertClean(t, logs.String(), err)
	})

	t.Run("the one-instance warning is logged once, at the first mint", func(t *testing.T) {
		c := newClock()
		log, logs := newLogger()
		m := newMemStore("creds", credsJSON(seedTicket))
		s := NewSource(Config{Name: "file", Credentials: m, CredentialsID: "creds", Issuer: &fakeIssuer{}, Now: c.Now, Logger: log})
		const warning = "only safe with one instance"
		if logs.Count(warning) != 0 {
			t.Fatal("warned before minting")
		}
		mustToken(t, s, mintedPrefix+"001")
		if n := logs.Count(warning); n != 1 || !strings.Contains(logs.String(), `"level":"WARN"`) {
			t.Fatalf("%d warnings after the first mint, want 1 at level WARN:\n%s", n, logs)
		}
		if _, err := s.Reload(t.Context(), mintedPrefix+"001"); err != nil {
			t.Fatal(err)
		}
		c.Advance(3 * time.Hour)
		mustToken(t, s, mintedPrefix+"003")
		if n := logs.Count(warning); n != 1 {
			t.Errorf("%d warnings after three mints, want 1", n)
		}
	})

	t.Run("a bare token never logs the one-instance warning", func(t *testing.T) {
		log, logs := newLogger()
		s := NewSource(Config{Name: "file", Credentials: newMemStore("creds", "tok-bare-0001"), CredentialsID: "creds", Logger: log})
		mustToken(t, s, "tok-bare-0001")
		if strings.Contains(logs.String(), "one instance") {
			t.Errorf("warned:\n%s", logs)
		}
	})

	t.Run("Reload of a minted token mints a new one", func(t *testing.T) {
		iss := &fakeIssuer{}
		s, _ := credsSource(credsJSON(seedTicket), iss, newClock())
		mustToken(t, s, mintedPrefix+"001")
		if tok, err := s.Reload(t.Context(), mintedPrefix+"001"); err != nil || tok != mintedPrefix+"002" {
			t.Errorf("Reload = %q, %v; want a new token", tok, err)
		}
	})

	t.Run("Reload after a rotation reads the secret once for every concurrent caller", func(t *testing.T) {
		// In a synctest bubble, synctest.Wait returns once every caller is blocked: inside the
		// one load (held at the store) or waiting for it. Without it, a caller that checked
		// the cache just before the load ended would start a second load (see the report).
		synctest.Test(t, func(t *testing.T) {
			s, m := credsSource("tok-before-rotation", &fakeIssuer{}, newClock())
			mustToken(t, s, "tok-before-rotation")
			m.set("creds", "tok-after-rotation")
			gate := make(chan struct{})
			m.setHook(func(context.Context, string, string) { <-gate })

			const callers = 16
			got := make(chan string, callers)
			for range callers {
				go func() {
					tok, err := s.Reload(t.Context(), "tok-before-rotation")
					if err != nil {
						tok = err.Error()
					}
					got <- tok
				}()
			}
			synctest.Wait()
			close(gate)
			for range callers {
				if tok := <-got; tok != "tok-after-rotation" {
					t.Errorf("Reload gave %q", tok)
				}
			}
			if gets, _ := m.counts(); gets != 2 {
				t.Errorf("%d reads, want 2: the first load and one reload", gets)
			}
		})
	})

	t.Run("a reload whose check saw the rejected token but which starts after another reload reads nothing", func(t *testing.T) {
		// The gap between Reload's check of the cache and the start of its shared load: on a
		// busy instance another caller's whole reload fits in it (a loaded machine read the
		// token file three times in the trigger's load test). The shared load checks again.
		s, m := credsSource("tok-before-rotation", &fakeIssuer{}, newClock())
		mustToken(t, s, "tok-before-rotation")
		m.set("creds", "tok-after-rotation")
		if tok, err := s.Reload(t.Context(), "tok-before-rotation"); err != nil || tok != "tok-after-rotation" {
			t.Fatalf("first Reload = %q, %v", tok, err)
		}
		// The late caller, past its check, starts its load now.
		if tok, err := s.load(t.Context(), "reload", "tok-before-rotation"); err != nil || tok != "tok-after-rotation" {
			t.Errorf("late reload = %q, %v", tok, err)
		}
		if gets, _ := m.counts(); gets != 2 {
			t.Errorf("%d reads, want 2: the first load and one reload", gets)
		}
	})

	t.Run("Reload of a token another caller already replaced answers the new one without a read", func(t *testing.T) {
		s, m := credsSource("tok-new-00001", &fakeIssuer{}, newClock())
		mustToken(t, s, "tok-new-00001")
		if tok, err := s.Reload(t.Context(), "tok-old-00001"); err != nil || tok != "tok-new-00001" {
			t.Errorf("Reload = %q, %v", tok, err)
		}
		if gets, _ := m.counts(); gets != 1 {
			t.Errorf("%d reads, want 1", gets)
		}
	})

	t.Run("a source still holding the rejected token answers ErrStaleToken and backs off for StaleBackoff", func(t *testing.T) {
		c := newClock()
		s, m := credsSource("tok-rejected-1", &fakeIssuer{}, c)
		mustToken(t, s, "tok-rejected-1")

		_, err := s.Reload(t.Context(), "tok-rejected-1")
		if !errors.Is(err, ErrStaleToken) || !strings.Contains(err.Error(), "update the secret") {
			t.Fatalf("Reload error = %v, want ErrStaleToken", err)
		}
		if errors.Is(err, wechat.ErrTokenUnusable) {
			t.Error("without a state record a stale token must stay transient (the secret may be updated any time)")
		}
		c.Advance(StaleBackoff - time.Second)
		if _, err := s.Reload(t.Context(), "tok-rejected-1"); !errors.Is(err, ErrStaleToken) {
			t.Errorf("Reload within the backoff = %v, want ErrStaleToken", err)
		}
		if gets, _ := m.counts(); gets != 2 {
			t.Errorf("%d reads within the backoff, want 2 (the load and one reload)", gets)
		}

		m.set("creds", "tok-updated-1")
		c.Advance(time.Second)
		if tok, err := s.Reload(t.Context(), "tok-rejected-1"); err != nil || tok != "tok-updated-1" {
			t.Errorf("Reload after the backoff = %q, %v; want the updated token", tok, err)
		}
	})

	t.Run("a caller whose context ends while another loads gives up without failing the others", func(t *testing.T) {
		s, m := credsSource("tok-slow-00001", &fakeIssuer{}, newClock())
		entered, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		m.setHook(func(context.Context, string, string) { once.Do(func() { close(entered) }); <-release })

		first := make(chan error, 1)
		go func() { _, err := s.Token(t.Context()); first <- err }()
		<-entered

		ctx, cancel := context.WithCancel(t.Context())
		second := make(chan error, 1)
		go func() { _, err := s.Token(ctx); second <- err }()
		cancel()
		if err := <-second; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "token source") {
			t.Errorf("the cancelled caller got %v, want context.Canceled naming the source", err)
		}
		close(release)
		if err := <-first; err != nil {
			t.Errorf("the waiting caller failed: %v", err)
		}
		mustToken(t, s, "tok-slow-00001")
	})

	t.Run("the load goes on for the others when the caller that started it gives up", func(t *testing.T) {
		s, m := credsSource("tok-slow-00001", &fakeIssuer{}, newClock())
		entered, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		m.setHook(func(context.Context, string, string) { once.Do(func() { close(entered) }); <-release })

		ctx, cancel := context.WithCancel(t.Context())
		first := make(chan error, 1)
		go func() { _, err := s.Token(ctx); first <- err }()
		<-entered
		cancel()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Errorf("the cancelled caller got %v, want context.Canceled", err)
		}

		second := make(chan string, 1)
		go func() { tok, _ := s.Token(t.Context()); second <- tok }()
		close(release)
		if tok := <-second; tok != "tok-slow-00001" {
			t.Errorf("the other caller got %q", tok)
		}
		if gets, _ := m.counts(); gets != 1 {
			t.Errorf("%d reads, want 1: the first load was not abandoned", gets)
		}
	})

	t.Run("credentials without an issuer are refused, naming the cause", func(t *testing.T) {
		s, _ := credsSource(credsJSON(seedTicket), nil, newClock())
		_, err := s.Token(t.Context())
		if err == nil || !strings.Contains(err.Error(), "no WeChat client was given") {
			t.Errorf("Token error = %v", err)
		}
		assertClean(t, "", err)
	})
}

// stateSource is a Source on a state record holding record (and a credentials secret that
// could mint: it must never be used).
func stateSource(record string, c *wxemu.Clock) (*Source, *memStore, *fakeIssuer) {
	m := newMemStore("state", record, "creds", credsJSON(seedTicket))
	iss := &fakeIssuer{}
	s := NewSource(Config{Name: `file "/run/creds" (state record "/run/state")`, State: &StateRecord{Store: m, ID: "state"},
		Credentials: m, CredentialsID: "creds", Issuer: iss, Now: c.Now, Logger: discard})
	return s, m, iss
}

func TestSourceWithStateRecord(t *testing.T) {
	valid := func(tok string, c *wxemu.Clock) string {
		return recordJSON(map[string]any{"component_access_token": tok, "expires_at": c.Now().Add(2 * time.Hour),
			"minted_at": c.Now(), "component_verify_ticket": storedTicket, "ticket_create_time": c.Now()})
	}

	t.Run("the token is read from the record, and the issuer is never called", func(t *testing.T) {
		c := newClock()
		s, _, iss := stateSource(valid(storedToken, c), c)
		mustToken(t, s, storedToken)
		if _, err := s.Reload(t.Context(), storedToken); !errors.Is(err, ErrStaleToken) {
			t.Errorf("Reload = %v, want ErrStaleToken", err)
		}
		if iss.calls() != 0 {
			t.Errorf("%d mints, want none", iss.calls())
		}
	})

	t.Run("the record is read again after StateMaxAge, so a newly minted token is picked up", func(t *testing.T) {
		c := newClock()
		s, m, _ := stateSource(valid(storedToken, c), c)
		mustToken(t, s, storedToken)
		m.set("state", valid("stored-token-0002", c))
		c.Advance(StateMaxAge - time.Second)
		mustToken(t, s, storedToken)
		c.Advance(time.Second)
		mustToken(t, s, "stored-token-0002")
		if gets, _ := m.counts(); gets != 2 {
			t.Errorf("%d reads, want 2", gets)
		}
	})

	t.Run("the record is read again after WeChat rejected the token", func(t *testing.T) {
		c := newClock()
		s, m, _ := stateSource(valid(storedToken, c), c)
		mustToken(t, s, storedToken)
		m.set("state", valid("stored-token-0002", c))
		if tok, err := s.Reload(t.Context(), storedToken); err != nil || tok != "stored-token-0002" {
			t.Errorf("Reload = %q, %v", tok, err)
		}
	})

	t.Run("a record without a token names the cause and mints nothing", func(t *testing.T) {
		c := newClock()
		s, _, iss := stateSource(`{}`, c)
		_, err := s.Token(t.Context())
		if err == nil || !strings.Contains(err.Error(), "no component access token yet") || !strings.Contains(err.Error(), "run refresh") {
			t.Errorf("Token error = %v", err)
		}
		if errors.Is(err, wechat.ErrTokenUnusable) {
			t.Error("a missing token is transient: the schedule will mint one")
		}
		if iss.calls() != 0 {
			t.Errorf("%d mints, want none", iss.calls())
		}
	})

	for _, tc := range []struct {
		name   string
		record func(now time.Time) map[string]any
		want   []string
	}{
		{"an expired token is named with its expiry",
			func(now time.Time) map[string]any {
				return map[string]any{"component_access_token": storedToken, "expires_at": now.Add(-time.Minute)}
			},
			[]string{"expired at 2026-12-01T07:59:00Z", "refresh schedule"}},
		{"a ticket older than 12 hours is named beside the missing token",
			func(now time.Time) map[string]any {
				return map[string]any{"component_verify_ticket": storedTicket, "ticket_create_time": now.Add(-13 * time.Hour)}
			},
			[]string{"no component access token yet", "13h0m0s old, older than the 12 h"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			s, _, _ := stateSource(recordJSON(tc.record(c.Now())), c)
			_, err := s.Token(t.Context())
			for _, want := range tc.want {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Token error = %v, want %q in it", err, want)
				}
			}
			assertClean(t, "", err)
		})
	}

	t.Run("a failed re-read serves the cached token until it expires", func(t *testing.T) {
		c := newClock()
		s, m, _ := stateSource(valid(storedToken, c), c)
		mustToken(t, s, storedToken)
		m.mu.Lock()
		m.failGets = 1000
		m.mu.Unlock()
		c.Advance(time.Hour)
		mustToken(t, s, storedToken)
		c.Advance(time.Hour)
		if _, err := s.Token(t.Context()); !errors.Is(err, errStoreDown) {
			t.Errorf("Token after expiry = %v, want the store's error", err)
		}
	})

	t.Run("Use serves the token this instance has just stored, without a read", func(t *testing.T) {
		c := newClock()
		s, m, _ := stateSource(valid(storedToken, c), c)
		mustToken(t, s, storedToken)
		s.Use("stored-token-0002", c.Now().Add(2*time.Hour))
		mustToken(t, s, "stored-token-0002")
		if gets, _ := m.counts(); gets != 1 {
			t.Errorf("%d reads, want 1", gets)
		}
	})
}

// TestStoredTokenErrorsThroughTheClient checks what a caller of the WeChat client makes of
// the state record's errors: a stale stored token is refused (retrying cannot help until
// someone runs refresh with force), a missing one is transient (the schedule will mint).
func TestStoredTokenErrorsThroughTheClient(t *testing.T) {
	emu := wxemu.New(wxemu.Options{})
	emu.Seed(wxemu.DemoState())
	base := emu.ServeTest(t)
	get := &wechat.GetEnvIDRequest{AppIDs: []string{"wx5fe6bb43205e9e07"}, SourceType: 1}

	t.Run("a stored token WeChat rejects is Refused, naming the cause", func(t *testing.T) {
		c := newClock()
		record := recordJSON(map[string]any{"component_access_token": "stored-token-unknown", "expires_at": c.Now().Add(time.Hour)})
		s, m, _ := stateSource(record, c)
		client := wechat.New(base, s, wechat.WithWait(instant), wechat.WithLogger(discard))
		_, err := client.GetEnvID(t.Context(), get)
		if f := wechat.Classify(err); f != wechat.Refused {
			t.Errorf("Classify = %v, want Refused (%v)", f, err)
		}
		if !errors.Is(err, ErrStaleToken) || !strings.Contains(err.Error(), "stored token rejected: run refresh with force") {
			t.Errorf("error = %v", err)
		}
		if gets, _ := m.counts(); gets != 2 {
			t.Errorf("%d reads, want 2: one re-read after the rejection", gets)
		}
		assertClean(t, "", err)
		if strings.Contains(err.Error(), "stored-token-unknown") {
			t.Errorf("the token leaked: %v", err)
		}
	})

	t.Run("a record without a token is Unavailable: transient", func(t *testing.T) {
		s, _, _ := stateSource(`{}`, newClock())
		client := wechat.New(base, s, wechat.WithWait(instant), wechat.WithLogger(discard))
		_, err := client.GetEnvID(t.Context(), get)
		if f := wechat.Classify(err); f != wechat.Unavailable {
			t.Errorf("Classify = %v, want Unavailable (%v)", f, err)
		}
		if emu.Calls(wxemu.EndpointGetEnvID) != 1 {
			t.Errorf("%d calls sent, want only the first test's", emu.Calls(wxemu.EndpointGetEnvID))
		}
	})
}

func mustToken(t testing.TB, s *Source, want string) {
	t.Helper()
	if tok, err := s.Token(context.Background()); err != nil || tok != want {
		t.Fatalf("Token() = %q, %v; want %q", tok, err, want)
	}
}

// TestSourceWithAnExternalOwner: with ENVSHARE_TOKEN_OWNER=external the backend writes the
// token (into the state record, or without one into the credentials secret); the Source reads
// it, every StateMaxAge and after a rejection, refuses an expired one, and never mints, even
// from a secret that holds everything minting needs.
func TestSourceWithAnExternalOwner(t *testing.T) {
	backend := func(tok string, expires time.Time) string {
		return recordJSON(map[string]any{"component_access_token": tok, "expires_at": expires})
	}
	// In the credentials secret, beside the platform's credentials and a seed ticket.
	inSecret := func(tok string, expires time.Time) string {
		fields := map[string]any{"component_appid": testAppID, "component_appsecret": testAppSecret,
			"component_verify_ticket": seedTicket, "component_access_token": tok, "expires_at": expires}
		if tok == "" {
			delete(fields, "component_access_token")
		}
		return recordJSON(fields)
	}
	sources := map[string]func(record string, c *wxemu.Clock) (*Source, *memStore, *fakeIssuer, string){
		"the state record": func(record string, c *wxemu.Clock) (*Source, *memStore, *fakeIssuer, string) {
			m := newMemStore("state", record, "creds", credsJSON(seedTicket))
			iss := &fakeIssuer{}
			return NewSource(Config{Name: "state", State: &StateRecord{Store: m, ID: "state"}, Credentials: m, CredentialsID: "creds",
				Issuer: iss, External: true, Now: c.Now, Logger: discard}), m, iss, "state"
		},
		"the credentials secret": func(record string, c *wxemu.Clock) (*Source, *memStore, *fakeIssuer, string) {
			m := newMemStore("creds", record)
			iss := &fakeIssuer{}
			return NewSource(Config{Name: "creds", Credentials: m, CredentialsID: "creds", Issuer: iss, External: true,
				Now: c.Now, Logger: discard}), m, iss, "creds"
		},
	}
	for where, open := range sources {
		write := backend
		if where == "the credentials secret" {
			write = inSecret
		}
		t.Run(where, func(t *testing.T) {
			c := newClock()
			s, m, iss, id := open(write(storedToken, c.Now().Add(2*time.Hour)), c)
			mustToken(t, s, storedToken)

			m.set(id, write("stored-token-0002", c.Now().Add(2*time.Hour))) // the backend minted
			c.Advance(StateMaxAge)
			mustToken(t, s, "stored-token-0002")

			m.set(id, write("stored-token-0003", c.Now().Add(2*time.Hour)))
			if tok, err := s.Reload(t.Context(), "stored-token-0002"); err != nil || tok != "stored-token-0003" {
				t.Fatalf("Reload after a rejection = %q, %v", tok, err)
			}
			c.Advance(StaleBackoff)
			_, err := s.Reload(t.Context(), "stored-token-0003")
			if !errors.Is(err, wechat.ErrTokenUnusable) || !strings.Contains(err.Error(), "the backend that owns it") {
				t.Fatalf("Reload of a token the backend did not replace = %v", err)
			}

			m.set(id, write("stored-token-0004", c.Now().Add(-time.Second)))
			c.Advance(StateMaxAge)
			s2, _, iss2, _ := open(m.value(id), c)
			if _, err := s2.Token(t.Context()); err == nil || !strings.Contains(err.Error(), "expired at") || !strings.Contains(err.Error(), "ENVSHARE_TOKEN_OWNER=external") {
				t.Fatalf("an expired token: %v", err)
			}
			s3, _, iss3, _ := open(write("", time.Time{}), c)
			if _, err := s3.Token(t.Context()); err == nil || !strings.Contains(err.Error(), "no component access token yet") {
				t.Fatalf("no token: %v", err)
			}
			if n := iss.calls() + iss2.calls() + iss3.calls(); n != 0 {
				t.Fatalf("%d mints, want none", n)
			}
			assertClean(t, "", err)
		})
	}
}
