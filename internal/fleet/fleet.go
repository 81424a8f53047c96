// Package fleet is the function's memory of its customers' Mini Programs (the contract's
// section 8): the ledger (internal/ledger) as pkg/share's Fleet, the record of WeChat's
// authorization events, the backfill of authorizers whose push was missed, and the fleet view.
// WeChat's authorizer calls come through the small WeChat interface, so that this package
// needs no token or credentials of its own.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/wxcrypt"
	"github.com/envshare/envshare/pkg/share"
)

// WeChat is WeChat's authorizer API as the fleet uses it.
type WeChat interface {
	// Info reads one authorizer's principal, permission sets and kind
	// (api_get_authorizer_info).
	Info(ctx context.Context, appid string) (Info, error)
	// List reads one page of the platform's authorizers from offset (api_get_authorizer_list,
	// at most PageSize of them) and how many there are in all.
	List(ctx context.Context, offset, count int) (total int, page []Listed, err error)
}

// Info is what api_get_authorizer_info says of an authorizer.
type Info struct {
	Principal      string // principal_name: its legal entity
	PermissionSets []int  // func_info[].funcscope_category.id
	MiniProgram    bool   // MiniProgramInfo present
}

// Listed is one authorizer of an api_get_authorizer_list page (its refresh_token, a secret,
// is never taken).
type Listed struct {
	AppID    string
	AuthTime time.Time
}

// PageSize is the largest page api_get_authorizer_list gives.
const PageSize = 500

// writers is how many records Remember writes at once: a reconcile's chunk of 100 pairs
// takes a few round trips of a remote database, not 100.
const writers = 8

// Fleet is the ledger seen as pkg/share's Fleet, with the calls of WeChat it needs.
type Fleet struct {
	Ledger *ledger.Ledger
	WeChat WeChat // nil: no backfill
	// BackfillMax is how many info calls one backfill makes at most (ENVSHARE_BACKFILL_MAX).
	BackfillMax int
	Clock       func() time.Time // the time of the records written (default time.Now)
	Logger      *slog.Logger     // default: discard
}

var _ share.Fleet = (*Fleet)(nil)

// Now is the time on the fleet's clock (Clock, default time.Now), in UTC to the second: the
// precision of the records.
func (f *Fleet) Now() time.Time {
	now := time.Now()
	if f.Clock != nil {
		now = f.Clock()
	}
	return now.UTC().Truncate(time.Second)
}

func (f *Fleet) log() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func shardOf(s *share.Shard) ledger.Shard {
	if s == nil || s.Count <= 1 {
		return ledger.All
	}
	return ledger.Shard{Index: s.Index, Count: s.Count}
}

// authorizer is the share package's view of a ledger record.
func authorizer(a ledger.Authorizer) share.Authorizer {
	return share.Authorizer{AppID: a.AppID, Known: a.Known(), Principal: a.Principal, Authorized: a.Authorized,
		PermissionSets: a.PermissionSets}
}

// Authorizers streams the authorizers of the shard from the ledger.
func (f *Fleet) Authorizers(ctx context.Context, shard *share.Shard, fn func(share.Authorizer) error) error {
	return f.Ledger.ScanAuthorizers(ctx, shardOf(shard), func(a ledger.Authorizer) error { return fn(authorizer(a)) })
}

// Recall reads the authorizers and pairs in batches.
func (f *Fleet) Recall(ctx context.Context, appids []string, keys []share.PairKey) ([]share.Authorizer, []share.PairMemory, error) {
	recs, err := f.Ledger.Authorizers(ctx, appids)
	if err != nil {
		return nil, nil, err
	}
	auths := make([]share.Authorizer, len(recs))
	for i, a := range recs {
		auths[i] = authorizer(a)
	}
	pairs, err := f.Ledger.Pairs(ctx, pairKeys(keys))
	if err != nil {
		return nil, nil, err
	}
	mems := make([]share.PairMemory, len(pairs))
	for i, p := range pairs {
		mems[i] = memoryOf(p)
	}
	return auths, mems, nil
}

func pairKeys(keys []share.PairKey) []ledger.PairKey {
	out := make([]ledger.PairKey, len(keys))
	for i, k := range keys {
		out[i] = ledger.PairKey{Env: k.Env, AppID: k.AppID}
	}
	return out
}

// memoryOf is the share package's view of a ledger pair.
func memoryOf(p ledger.Pair) share.PairMemory {
	m := share.PairMemory{PairKey: share.PairKey{Env: p.Env, AppID: p.AppID}, State: share.Status(p.State),
		Principal: p.Principal, ConfirmURL: p.ConfirmURL, LinkIssuedAt: p.LinkIssuedAt, ConfirmedAt: p.ConfirmedAt}
	if p.ErrorCode != "" {
		m.Error = &share.EntryError{Code: share.Code(p.ErrorCode), Message: p.ErrorMessage}
	}
	return m
}

// setMemory writes m into the ledger pair.
func setMemory(p *ledger.Pair, m share.PairMemory) {
	p.State, p.Principal, p.ConfirmURL, p.LinkIssuedAt, p.ConfirmedAt = ledger.PairState(m.State), m.Principal,
		m.ConfirmURL, m.LinkIssuedAt, m.ConfirmedAt
	p.ErrorCode, p.ErrorMessage = "", ""
	if m.Error != nil {
		p.ErrorCode, p.ErrorMessage = string(m.Error.Code), m.Error.Message
	}
}

// remembered reports whether Remember records an outcome of this status at all.
func remembered(o share.Outcome) bool {
	switch o.Status {
	case share.StatusShared, share.StatusAlreadyShared, share.StatusPendingConfirmation, share.StatusUnshared:
		return true
	case share.StatusFailed:
		return o.Error != nil && share.PairFailure(o.Error.Code)
	}
	return false
}

// Remember writes what the outcomes say of their pairs (share.PairMemory.Apply), each pair with
// its authorizer's principal, a few at once; only what changed is written.
func (f *Fleet) Remember(ctx context.Context, outcomes []share.Outcome) error {
	var todo []share.Outcome
	var appids []string
	for _, o := range outcomes {
		if remembered(o) {
			todo = append(todo, o)
			appids = append(appids, o.AppID)
		}
	}
	principal, err := f.principalsOf(ctx, appids)
	if err != nil {
		return err
	}
	now := f.Now()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(writers)
	for _, o := range todo {
		g.Go(func() error {
			_, err := f.Ledger.UpdatePair(ctx, ledger.PairKey{Env: o.Env, AppID: o.AppID}, func(p *ledger.Pair) (bool, error) {
				m := memoryOf(*p)
				if !m.Apply(o, principal[o.AppID], now) {
					return false, nil
				}
				setMemory(p, m)
				return true, nil
			})
			return err
		})
	}
	return g.Wait()
}

// principalsOf reads the principal of each of appids (repeats allowed) from the ledger; none
// is no read at all.
func (f *Fleet) principalsOf(ctx context.Context, appids []string) (map[string]string, error) {
	if len(appids) == 0 {
		return nil, nil
	}
	slices.Sort(appids)
	recs, err := f.Ledger.Authorizers(ctx, slices.Compact(appids))
	if err != nil {
		return nil, err
	}
	principal := make(map[string]string, len(recs))
	for _, a := range recs {
		principal[a.AppID] = a.Principal
	}
	return principal, nil
}

// Backfill pages through api_get_authorizer_list and fetches the info of every authorizer
// the ledger does not know, at most BackfillMax info calls; the others are counted as
// remaining, for the next run. An info call that fails for one authorizer is logged and
// counted as remaining; a failure to list or to use the ledger stops the backfill, with the
// counts so far.
func (f *Fleet) Backfill(ctx context.Context) (*share.BackfillSummary, error) {
	sum := &share.BackfillSummary{}
	if f.WeChat == nil {
		return sum, errors.New("backfill: no WeChat client for the authorizer calls")
	}
	for offset := 0; ; {
		total, page, err := f.WeChat.List(ctx, offset, PageSize)
		if err != nil {
			return sum, err
		}
		sum.Listed += len(page)
		if err := f.learn(ctx, page, sum); err != nil {
			return sum, err
		}
		offset += len(page)
		if len(page) < PageSize || offset >= total {
			return sum, nil
		}
	}
}

// learn fetches and records the info of the page's authorizers the ledger does not know.
func (f *Fleet) learn(ctx context.Context, page []Listed, sum *share.BackfillSummary) error {
	appids := make([]string, len(page))
	for i, l := range page {
		appids[i] = l.AppID
	}
	known, err := f.Ledger.Authorizers(ctx, appids)
	if err != nil {
		return err
	}
	for i, a := range known {
		if a.Known() {
			continue
		}
		sum.New++
		if sum.Fetched >= f.BackfillMax {
			sum.Remaining++
			continue
		}
		info, err := f.WeChat.Info(ctx, a.AppID)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			sum.Remaining++
			f.log().WarnContext(ctx, "backfill: the authorizer's info could not be read", "authorizer_appid", a.AppID, "error", err)
			continue
		}
		sum.Fetched++
		authTime := page[i].AuthTime
		if _, err := f.Ledger.UpdateAuthorizer(ctx, a.AppID, func(rec *ledger.Authorizer) (bool, error) {
			if rec.Known() { // an event recorded it meanwhile: it knows better
				return false, nil
			}
			rec.Authorized, rec.AuthorizedAt = true, authTime
			setInfo(rec, info, f.Now())
			return true, nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func setInfo(a *ledger.Authorizer, info Info, now time.Time) {
	a.Principal, a.PermissionSets, a.MiniProgram, a.InfoFetchedAt = info.Principal, slices.Clone(info.PermissionSets), info.MiniProgram, now
}

// The kinds of authorization event (WeChat's InfoType).
const (
	EventAuthorized       = "authorized"
	EventUpdateAuthorized = "updateauthorized"
	EventUnauthorized     = "unauthorized"
)

// Event is an authorization event: its appid, kind and CreateTime.
type Event struct {
	AppID      string
	InfoType   string
	CreateTime time.Time
}

// ErrStale: the event is older than the newest one the ledger recorded, or an instance took
// up, for its appid (the contract's section 5, "Order"); nothing was written.
var ErrStale = errors.New("an authorization event newer than this one was recorded")

// ErrDuplicate: the same event (its kind and CreateTime) was taken up for handling less than
// the window ago, by this instance or another: this push of it is a duplicate, and nothing was
// written.
var ErrDuplicate = errors.New("the same authorization event was taken up moments ago")

// stale reports ErrStale when ev is older than the newest event recorded or taken up for a. A
// time more than wxcrypt.MaxAhead ahead of now (a record written from a clock gone wrong) never
// counts as newer: it could otherwise lock out every genuine event.
func stale(ev Event, a ledger.Authorizer, now time.Time) error {
	newest, kind := a.LastEventTime, a.LastEvent
	if h := a.Handling; h.CreateTime.After(newest) {
		newest, kind = h.CreateTime, h.Event
	}
	if ev.CreateTime.Before(newest) && !wxcrypt.TooFarAhead(newest, now) {
		return fmt.Errorf("%w (%s at %s)", ErrStale, kind, newest.UTC().Format(time.RFC3339))
	}
	return nil
}

// CheckOrder reads the authorizer and reports ErrStale when ev is older than its newest event.
// It returns the record as read (Version 0 when unknown).
func (f *Fleet) CheckOrder(ctx context.Context, ev Event) (ledger.Authorizer, error) {
	a, err := f.Ledger.Authorizer(ctx, ev.AppID)
	if err != nil {
		return a, err
	}
	return a, stale(ev, a, f.Now())
}

// Claim takes a pushed event up for handling, in one conditional write of its authorizer's
// record, so that every instance sees it: ErrStale when a newer event was recorded or taken up,
// ErrDuplicate when this very event was taken up less than window ago (a replay after that acts
// again, as the contract's "an equal CreateTime acts again" says). It returns the record as
// written.
func (f *Fleet) Claim(ctx context.Context, ev Event, window time.Duration) (ledger.Authorizer, error) {
	now := f.Now()
	return f.Ledger.UpdateAuthorizer(ctx, ev.AppID, func(a *ledger.Authorizer) (bool, error) {
		if err := stale(ev, *a, now); err != nil {
			return false, err
		}
		h := a.Handling
		if since := now.Sub(h.Since); h.Event == ev.InfoType && h.CreateTime.Equal(ev.CreateTime) && since < window && since > -window {
			return false, ErrDuplicate
		}
		a.Handling = ledger.Handling{Event: ev.InfoType, CreateTime: ev.CreateTime, Since: now}
		return true, nil
	})
}

// RecordEvent writes the event, with the authorizer's info when it was fetched (nil: not), to
// the ledger, conditionally: a newer event recorded meanwhile wins (ErrStale). changed reports
// whether the authorizer's principal, permission sets, kind or authorization changed (an
// equal replay changes nothing, and writes nothing).
func (f *Fleet) RecordEvent(ctx context.Context, ev Event, info *Info) (rec ledger.Authorizer, changed bool, err error) {
	now := f.Now()
	rec, err = f.Ledger.UpdateAuthorizer(ctx, ev.AppID, func(a *ledger.Authorizer) (bool, error) {
		if err := stale(ev, *a, now); err != nil {
			return false, err
		}
		before := *a
		switch ev.InfoType {
		case EventUnauthorized:
			a.Authorized, a.UnauthorizedAt = false, ev.CreateTime
		case EventAuthorized:
			a.Authorized, a.AuthorizedAt = true, ev.CreateTime
		default:
			a.Authorized = true
		}
		if info != nil && (!same(*info, before) || before.InfoFetchedAt.IsZero()) {
			setInfo(a, *info, now)
		}
		a.LastEvent, a.LastEventTime = ev.InfoType, ev.CreateTime
		changed = !before.Known() || before.Authorized != a.Authorized || before.Principal != a.Principal ||
			!slices.Equal(before.PermissionSets, a.PermissionSets) || before.MiniProgram != a.MiniProgram
		written := changed || before.LastEvent != a.LastEvent || !before.LastEventTime.Equal(a.LastEventTime) ||
			!before.AuthorizedAt.Equal(a.AuthorizedAt) || !before.UnauthorizedAt.Equal(a.UnauthorizedAt) ||
			!before.InfoFetchedAt.Equal(a.InfoFetchedAt)
		return written, nil
	})
	return rec, changed, err
}

// same reports whether info says what the record holds already.
func same(info Info, a ledger.Authorizer) bool {
	return info.Principal == a.Principal && slices.Equal(info.PermissionSets, a.PermissionSets) && info.MiniProgram == a.MiniProgram
}

// InfoOf returns the info the ledger holds of an authorizer.
func InfoOf(a ledger.Authorizer) Info {
	return Info{Principal: a.Principal, PermissionSets: a.PermissionSets, MiniProgram: a.MiniProgram}
}

// CanShare reports whether envs may be shared with an authorizer of this info: it granted
// permission set 18.
func (i Info) CanShare() bool { return slices.Contains(i.PermissionSets, share.PermissionSetShare) }
