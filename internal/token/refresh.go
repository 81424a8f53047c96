package token

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/wxcrypt"
	"github.com/envshare/envshare/pkg/redact"
	"github.com/envshare/envshare/pkg/retry"
)

// Defaults of the lifecycle settings.
const (
	DefaultRefreshBefore       = 30 * time.Minute // ENVSHARE_REFRESH_BEFORE
	DefaultTicketWriteInterval = time.Hour        // ENVSHARE_TICKET_WRITE_INTERVAL
)

// StoreEveryTicket, as Refresher.TicketEvery, stores every pushed ticket that is newer than the
// stored one and differs (ENVSHARE_TICKET_WRITE_INTERVAL=0s; the zero TicketEvery is the default).
const StoreEveryTicket time.Duration = -1

// ErrNoTicket means there is no ticket to mint with: none stored, none seeded.
var ErrNoTicket = errors.New("no component_verify_ticket: none in the state record and none seeded in the credentials " +
	"secret; point the authorization event URL at /wechat/events " +
	"(docs/tokens-and-events.md, Receiving WeChat's events)")

// ErrTicketTooOld means the stored ticket is older than WeChat accepts.
var ErrTicketTooOld = errors.New("the stored component_verify_ticket is older than the 12 h WeChat accepts; check " +
	"that WeChat's pushes reach /wechat/events")

// ErrLeaseHeld means another refresh holds the minting lease while the record holds no token
// that can be served: nothing was minted, and if that refresh failed nobody will mint until its
// lease lapses.
var ErrLeaseHeld = errors.New("another refresh holds the minting lease and the state record holds no usable token")

// Refresher is the one minter: it keeps the state record's token fresh, and stores the
// tickets WeChat pushes. It is safe for concurrent use; one instance refreshes at a time.
//
// The stores have no conditional write, so two writers of the record can overlap. Four rules
// keep the record right: a refresh about to mint takes a lease in the record and mints only if
// the lease is still its own after leaseSettle (a second refresh at the same time then stands
// down); a ticket write stands down during a lease and is given up unless it lands within
// ticketWriteWithin of its read, shorter than leaseSettle, so it can never span a mint and put
// the older token back; neither writer ever replaces a token with an older one (by minted_at),
// each re-reading the record just before its write; and an instance that finds its last minted
// token replaced by an older one writes it back at its next refresh. What remains is a write
// that the store applies long after the client gave it up: at worst one ticket push is lost, and
// the next one, 10 minutes later, is stored.
type Refresher struct {
	State         StateRecord
	Credentials   func(ctx context.Context) (Credentials, error)
	Issuer        Issuer
	RefreshBefore time.Duration // mint when the stored token expires within this (default 30m)
	TicketEvery   time.Duration // store a new ticket at most this often (default 1h; StoreEveryTicket: every newer one)
	Source        *Source       // this instance's Source, told of a new token at once (may be nil)
	// External: the platform's backend owns the token (ENVSHARE_TOKEN_OWNER=external). Refresh
	// must not be called; StoreTicket reads the record again just before its write and stands
	// down if the backend wrote a token meanwhile, so that it never puts an older one back.
	External bool
	Now      func() time.Time
	Logger   *slog.Logger
	Secrets  *redact.Set
	// Wait waits leaseSettle after taking the lease (default retry.Sleep; tests make it instant).
	Wait func(ctx context.Context, d time.Duration) error

	once sync.Once
	id   string // this instance's name in the lease

	mu   sync.Mutex
	last *State // the token minted here last, written or not
}

// RefreshResult is the answer of the refresh action; it never holds the token.
type RefreshResult struct {
	OK         bool      `json:"ok"`
	Action     string    `json:"action"`
	Minted     bool      `json:"minted"`
	ExpiresAt  time.Time `json:"expires_at"`
	TicketAgeS int64     `json:"ticket_age_s"`
	// TicketStored: TicketAgeS is the age of a ticket the state record holds (not a seed's,
	// whose age is unknown, nor 0 for none); for the TicketAge metric, not in the answer.
	TicketStored bool `json:"-"`
}

const (
	// leaseTTL bounds how long a lease holds off other minters: a mint takes one WeChat call.
	leaseTTL = 30 * time.Second
	// leaseSettle is how long a refresh waits after taking the lease before it reads the record
	// again to see it still holds it: longer than a store write, and than ticketWriteWithin.
	leaseSettle = 3 * time.Second
	// ticketWriteWithin bounds a ticket write, from its read of the record to its write (the
	// store's retries included): a write that has not landed by then is given up. It is shorter
	// than leaseSettle, so a ticket write that read the record before a lease was taken has
	// landed, or been given up, before that lease is read back: it overwrites the lease (the
	// minter stands down) or nothing, never the token minted under the lease.
	ticketWriteWithin = 2 * time.Second
)

// Refresh mints a token when the stored one is missing, expires within RefreshBefore, or force
// is true, and writes it into the state record, keeping the ticket fields as read. A write is
// attempted by the store's own retries; when it still fails, the error says so, and this
// instance writes the token first at its next Refresh.
func (r *Refresher) Refresh(ctx context.Context, force bool) (res *RefreshResult, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.once.Do(func() { r.id = rand.Text()[:12] })
	now := r.now()

	st, err := r.State.Read(ctx)
	if err != nil {
		return nil, err
	}
	if u := r.last; u != nil && u.Token != st.Token && now.Before(u.ExpiresAt) && u.MintedAt.After(st.MintedAt) {
		// The token minted here last is not in the record, and what is there is older (a
		// failed write, or a writer that overlapped ours): WeChat has invalidated it.
		r.log().WarnContext(ctx, "the state record lost the token minted last; writing it again")
		if st, err = r.writeToken(ctx, *u); err != nil {
			return nil, err
		}
	}

	due := force || st.Token == "" || st.ExpiresAt.IsZero() || st.ExpiresAt.Sub(now) <= r.refreshBefore()
	if !due {
		r.Source.useIfSet(st.Token, st.ExpiresAt)
		return &RefreshResult{OK: true, Action: "refresh", ExpiresAt: st.ExpiresAt, TicketAgeS: seconds(ticketAge(st, now)), TicketStored: st.Ticket != ""}, nil
	}
	cur, held, err := r.lease(ctx, st, now)
	if err != nil {
		return nil, err
	}
	if !held { // another refresh is minting at this very moment: it writes the token
		if problem := usableToken(cur, now, false); problem != "" {
			// Perhaps a failed mint's leftover: nobody may mint until the lease lapses, and
			// meanwhile there is no token to serve. Say so loudly (the alarm), never "ok".
			return nil, fmt.Errorf("%w (%s until %s), so nothing was minted: if that refresh failed, run refresh again after then",
				ErrLeaseHeld, cur.MintingBy, cur.MintingUntil.UTC().Format(time.RFC3339))
		}
		r.log().InfoContext(ctx, "another refresh holds the minting lease; not minting", "minting_until", cur.MintingUntil)
		return &RefreshResult{OK: true, Action: "refresh", ExpiresAt: cur.ExpiresAt, TicketAgeS: seconds(ticketAge(cur, now)), TicketStored: cur.Ticket != ""}, nil
	}
	defer func() {
		if err != nil {
			r.release(ctx)
		}
	}()

	creds, err := r.Credentials(ctx)
	if err != nil {
		return nil, err
	}
	if !creds.CanMint() {
		return nil, errors.New("the credentials secret lacks component_appid or component_appsecret")
	}
	ticket, age := st.Ticket, ticketAge(st, now)
	if ticket == "" {
		ticket, age = creds.VerifyTicket, 0 // the seed: its age is unknown
	}
	switch {
	case ticket == "":
		return nil, ErrNoTicket
	case age >= TicketTTL:
		return nil, fmt.Errorf("%w (it is %s old)", ErrTicketTooOld, age.Round(time.Minute))
	}
	m, err := mint(ctx, r.Issuer, creds, ticket, now)
	if err != nil {
		return nil, r.Secrets.Error(err)
	}
	r.Secrets.Add(m.Token)
	r.last = &State{Token: m.Token, ExpiresAt: m.ExpiresAt, MintedAt: now}
	if _, err := r.writeToken(ctx, *r.last); err != nil {
		return nil, err
	}
	r.log().InfoContext(ctx, "component access token minted and stored", "expires_at", m.ExpiresAt, "forced", force)
	r.Source.useIfSet(m.Token, m.ExpiresAt)
	return &RefreshResult{OK: true, Action: "refresh", Minted: true, ExpiresAt: m.ExpiresAt, TicketAgeS: seconds(age), TicketStored: st.Ticket != ""}, nil
}

// lease takes the minting lease and reports whether it is still this instance's after
// leaseSettle, with the record as last read. Two refreshes that both wrote a lease read back the
// one written last. A lease gone altogether was overwritten by a ticket write that was under
// way (see StoreTicket): it is taken once more.
func (r *Refresher) lease(ctx context.Context, st State, now time.Time) (State, bool, error) {
	for attempt := 0; ; attempt++ {
		if st.leased(r.id, now) {
			return st, false, nil
		}
		st.MintingBy, st.MintingUntil = r.id, now.Add(leaseTTL)
		if err := r.State.Write(ctx, st); err != nil {
			return State{}, false, fmt.Errorf("take the minting lease: %w", err)
		}
		if err := r.wait(ctx, leaseSettle); err != nil {
			return State{}, false, err
		}
		back, err := r.State.Read(ctx)
		if err != nil {
			return State{}, false, err
		}
		if back.MintingBy != "" || attempt > 0 {
			return back, back.MintingBy == r.id, nil
		}
		st = back
	}
}

// release gives the lease up after a refresh that could not mint, so that the next one (a
// person's POST /refresh, say) need not wait for it to lapse. It is best effort.
func (r *Refresher) release(ctx context.Context) {
	st, err := r.State.Read(ctx)
	if err != nil || st.MintingBy != r.id {
		return
	}
	st.MintingBy, st.MintingUntil = "", time.Time{}
	_ = r.State.Write(ctx, st)
}

// writeToken writes the token fields of t into the record and gives the lease up. It re-reads
// the record just before, so that a ticket stored meanwhile is kept, and leaves a token that
// was minted later than t in place.
func (r *Refresher) writeToken(ctx context.Context, t State) (State, error) {
	st, err := r.State.Read(ctx)
	if err != nil {
		return State{}, fmt.Errorf("the minted token was not stored (the next refresh writes it first): %w", err)
	}
	if st.Token != "" && st.MintedAt.After(t.MintedAt) {
		return st, nil // a newer mint than ours is stored: ours is the one WeChat invalidates
	}
	st.Token, st.ExpiresAt, st.MintedAt = t.Token, t.ExpiresAt, t.MintedAt
	if st.MintingBy == r.id {
		st.MintingBy, st.MintingUntil = "", time.Time{}
	}
	if err := r.State.Write(ctx, st); err != nil {
		return State{}, fmt.Errorf("the minted token was not stored (the next refresh writes it first): %w", err)
	}
	return st, nil
}

// StoreTicket stores a pushed component_verify_ticket created at created: when the record holds
// none, or when created is at least TicketEvery after the stored one and the ticket differs.
// So an older ticket never replaces a newer one, and the store sees at most one ticket write
// per TicketEvery. It keeps the token fields as read, and stands down (the push is lost; the
// next one comes in 10 minutes) while a refresh holds the minting lease. Its read and write
// take at most ticketWriteWithin, or the write is given up (an error), so that it never writes
// a token older than one minted meanwhile. It reports whether it wrote.
func (r *Refresher) StoreTicket(ctx context.Context, ticket string, created time.Time) (bool, error) {
	r.Secrets.Add(ticket)
	ctx, cancel := context.WithTimeout(ctx, ticketWriteWithin)
	defer cancel()
	st, err := r.State.Read(ctx)
	if err != nil {
		return false, err
	}
	// A stored time from more than wxcrypt.MaxAhead ahead of the clock (a push from a clock gone
	// wrong, stored before such pushes were refused) never counts as newer: it would lock the
	// record against every genuine ticket.
	future := wxcrypt.TooFarAhead(st.TicketCreated, r.now())
	if st.Ticket != "" && !future && (ticket == st.Ticket || !created.After(st.TicketCreated) || created.Sub(st.TicketCreated) < r.ticketEvery()) {
		return false, nil
	}
	if st.leased("", r.now()) { // a mint is about to write the record: ours would be overwritten, or overwrite it
		return false, nil
	}
	if r.External {
		again, err := r.State.Read(ctx)
		if err != nil {
			return false, err
		}
		if again.Token != st.Token || !again.ExpiresAt.Equal(st.ExpiresAt) {
			r.log().InfoContext(ctx, "the backend wrote its token while a ticket was being stored: the ticket is not stored (the next push is)")
			return false, nil
		}
		st = again
	}
	st.Ticket, st.TicketCreated = ticket, created
	if err := r.State.Write(ctx, st); err != nil {
		return false, err
	}
	return true, nil
}

func (r *Refresher) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r *Refresher) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Refresher) wait(ctx context.Context, d time.Duration) error {
	if r.Wait != nil {
		return r.Wait(ctx, d)
	}
	return retry.Sleep(ctx, d)
}

func (r *Refresher) refreshBefore() time.Duration {
	if r.RefreshBefore > 0 {
		return r.RefreshBefore
	}
	return DefaultRefreshBefore
}

// ticketEvery is the least time between two stored tickets' CreateTime (0: any newer one).
func (r *Refresher) ticketEvery() time.Duration {
	switch {
	case r.TicketEvery == StoreEveryTicket:
		return 0
	case r.TicketEvery > 0:
		return r.TicketEvery
	}
	return DefaultTicketWriteInterval
}

// useIfSet tells a Source of a token, when there is a Source.
func (s *Source) useIfSet(tok string, expiresAt time.Time) {
	if s != nil && tok != "" {
		s.Use(tok, expiresAt)
	}
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// CredentialsReader reads the credentials secret for the Refresher and the events route,
// caching it for a few minutes (a rotated message key is picked up within that time).
type CredentialsReader struct {
	Store   store.Store
	ID      string
	Fixed   *Credentials // mode env: the ENVSHARE_COMPONENT_* variables, never read from a store
	Secrets *redact.Set
	Now     func() time.Time

	mu     sync.Mutex
	cached Credentials
	readAt time.Time
}

// credentialsMaxAge is how long the credentials secret is served from the cache.
const credentialsMaxAge = 5 * time.Minute

// Read returns the credentials.
func (c *CredentialsReader) Read(ctx context.Context) (Credentials, error) {
	if c.Fixed != nil {
		return *c.Fixed, nil
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.readAt.IsZero() && now.Sub(c.readAt) < credentialsMaxAge {
		return c.cached, nil
	}
	sec, err := readRecord(ctx, c.Store, c.ID, "credentials secret", c.Secrets, parseSecret)
	if err != nil {
		return Credentials{}, err
	}
	c.Secrets.Add(sec.token)
	c.Secrets.Add(sec.creds.Values()...)
	c.cached, c.readAt = sec.creds, now
	return c.cached, nil
}
