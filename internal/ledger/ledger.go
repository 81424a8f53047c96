package ledger

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/envshare/envshare/pkg/retry"
)

// Redactor masks secret values in text; *redact.Set is one.
type Redactor interface {
	String(text string) string
}

// Options configure a Ledger; the zero value is usable.
type Options struct {
	// Redactor masks every secret it knows in each document before it is written, so that no
	// secret is ever stored (such as a token that WeChat's error message quoted).
	Redactor Redactor
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Backoff gives the pause before attempt n+1 of a write that conflicted n times (default
	// ConflictBackoff). Wait waits it (default: a timer, cut short by the context).
	Backoff func(n int) time.Duration
	Wait    func(ctx context.Context, d time.Duration) error
}

// Ledger is the typed ledger over a Driver. It is safe for concurrent use.
type Ledger struct {
	d    Driver
	opts Options
}

// New returns a Ledger over d.
func New(d Driver, opts Options) *Ledger {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Backoff == nil {
		opts.Backoff = ConflictBackoff
	}
	if opts.Wait == nil {
		opts.Wait = retry.Sleep
	}
	return &Ledger{d: d, opts: opts}
}

// Driver gives the engine under the ledger.
func (l *Ledger) Driver() Driver { return l.d }

// Close closes the engine.
func (l *Ledger) Close() error { return l.d.Close() }

// ConflictBackoff is a random pause of up to 2^n ms, at most 100 ms: writers that met stay
// apart the next time, and a record written by many at once is still written within a few
// round trips each.
func ConflictBackoff(n int) time.Duration {
	ceiling := 100 * time.Millisecond
	if n < 7 {
		ceiling = min(time.Millisecond<<n, ceiling)
	}
	return rand.N(ceiling) + 1
}

// record is a typed document that carries the version it was read at.
type record[T any] interface {
	*T
	setVersion(int64)
	version() int64
}

// decode makes the typed record of an item: fresh (the record with its key fields) when the
// item is absent, else the document over it.
func decode[T any, P record[T]](it Item, fresh T) (T, error) {
	rec := fresh
	if it.Version > 0 {
		if err := json.Unmarshal(it.Doc, &rec); err != nil {
			return fresh, fmt.Errorf("ledger: the stored %s is not a valid document: %w", it.Key, err)
		}
	}
	P(&rec).setVersion(it.Version)
	return rec, nil
}

// encode gives the document to store: the record as JSON, with every secret masked.
func (l *Ledger) encode(rec any) ([]byte, error) {
	doc, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("ledger: encode: %w", err)
	}
	if l.opts.Redactor != nil {
		doc = []byte(l.opts.Redactor.String(string(doc)))
	}
	return doc, nil
}

// update reads the record (or starts from the one given, as it was read), lets change apply
// the caller's change, and writes it conditionally; on a conflict it pauses and starts again
// from a fresh read. It returns the record as written (or as read, when nothing changed).
func update[T any, P record[T]](ctx context.Context, l *Ledger, key Key, start *T, fresh T, change func(P) (bool, error)) (T, error) {
	if err := CheckKey(key); err != nil {
		return fresh, err
	}
	for n := 1; ; n++ {
		var rec T
		if start != nil {
			rec, start = *start, nil
		} else {
			it, err := l.d.Get(ctx, key)
			if err != nil {
				return fresh, err
			}
			if rec, err = decode[T, P](it, fresh); err != nil {
				return fresh, err
			}
		}
		read := P(&rec).version()
		changed, err := change(&rec)
		if err != nil || !changed {
			return rec, err
		}
		doc, err := l.encode(&rec)
		if err != nil {
			return fresh, err
		}
		err = l.d.Put(ctx, Item{Key: key, Doc: doc, Version: read})
		if err == nil {
			P(&rec).setVersion(read + 1)
			return rec, nil
		}
		if !errors.Is(err, ErrConflict) {
			return fresh, err
		}
		if err := l.opts.Wait(ctx, l.opts.Backoff(n)); err != nil {
			return fresh, fmt.Errorf("ledger: writing %s: %w (after %d conflicting writes)", key, err, n)
		}
	}
}

// getMany reads the records of keys in batches; fresh gives the record of an absent key.
func getMany[T any, P record[T]](ctx context.Context, l *Ledger, keys []Key, fresh func(int) T) ([]T, error) {
	for _, k := range keys {
		if err := CheckKey(k); err != nil {
			return nil, err
		}
	}
	items, err := l.d.GetMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	if len(items) != len(keys) {
		return nil, fmt.Errorf("ledger: the engine answered %d records for %d keys", len(items), len(keys))
	}
	out := make([]T, len(items))
	for i, it := range items {
		if out[i], err = decode[T, P](it, fresh(i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scan streams the records of kind in shard, typed.
func scan[T any, P record[T]](ctx context.Context, l *Ledger, kind Kind, shard Shard, fn func(T) error) error {
	if err := shard.Check(); err != nil {
		return err
	}
	var zero T
	return l.d.Scan(ctx, kind, shard, func(it Item) error {
		rec, err := decode[T, P](it, zero)
		if err != nil {
			return err
		}
		return fn(rec)
	})
}

func authorizerKey(appid string) Key { return Key{KindAuthorizer, appid} }

// Authorizer reads one authorizer; one the ledger does not know has Version 0.
func (l *Ledger) Authorizer(ctx context.Context, appid string) (Authorizer, error) {
	out, err := l.Authorizers(ctx, []string{appid})
	if err != nil {
		return Authorizer{AppID: appid}, err
	}
	return out[0], nil
}

// Authorizers reads authorizers in batches, in the order of appids.
func (l *Ledger) Authorizers(ctx context.Context, appids []string) ([]Authorizer, error) {
	keys := make([]Key, len(appids))
	for i, a := range appids {
		keys[i] = authorizerKey(a)
	}
	return getMany(ctx, l, keys, func(i int) Authorizer { return Authorizer{AppID: appids[i]} })
}

// UpdateAuthorizer applies change to the authorizer (its Version is 0 when the ledger does not
// know it yet) and writes it when change reports a change. See the package doc: change may
// run more than once.
func (l *Ledger) UpdateAuthorizer(ctx context.Context, appid string, change func(*Authorizer) (bool, error)) (Authorizer, error) {
	return update(ctx, l, authorizerKey(appid), nil, Authorizer{AppID: appid}, change)
}

// ScanAuthorizers calls fn with every authorizer of the shard (All: every one), streaming.
func (l *Ledger) ScanAuthorizers(ctx context.Context, shard Shard, fn func(Authorizer) error) error {
	return scan(ctx, l, KindAuthorizer, shard, fn)
}

func pairKey(k PairKey) Key { return Key{KindPair, k.AppID + "/" + k.Env} }

// Pair reads one pair; one the ledger does not know has Version 0.
func (l *Ledger) Pair(ctx context.Context, k PairKey) (Pair, error) {
	out, err := l.Pairs(ctx, []PairKey{k})
	if err != nil {
		return Pair{Env: k.Env, AppID: k.AppID}, err
	}
	return out[0], nil
}

// Pairs reads pairs in batches, in the order of keys.
func (l *Ledger) Pairs(ctx context.Context, keys []PairKey) ([]Pair, error) {
	ks := make([]Key, len(keys))
	for i, k := range keys {
		ks[i] = pairKey(k)
	}
	return getMany(ctx, l, ks, func(i int) Pair { return Pair{Env: keys[i].Env, AppID: keys[i].AppID} })
}

// UpdatePair applies change to the pair and writes it (with ChangedAt set to now) when change
// reports a change. See the package doc: change may run more than once.
func (l *Ledger) UpdatePair(ctx context.Context, k PairKey, change func(*Pair) (bool, error)) (Pair, error) {
	return update(ctx, l, pairKey(k), nil, Pair{Env: k.Env, AppID: k.AppID}, l.stampPair(change))
}

// UpdateReadPair is UpdatePair starting from p as it was read (by Pairs or ScanPairs), which
// saves a read when nobody wrote the pair since; on a conflict it reads again.
func (l *Ledger) UpdateReadPair(ctx context.Context, p Pair, change func(*Pair) (bool, error)) (Pair, error) {
	return update(ctx, l, pairKey(p.Key()), &p, Pair{Env: p.Env, AppID: p.AppID}, l.stampPair(change))
}

func (l *Ledger) stampPair(change func(*Pair) (bool, error)) func(*Pair) (bool, error) {
	return func(p *Pair) (bool, error) {
		changed, err := change(p)
		if changed && err == nil {
			p.ChangedAt = l.opts.Now()
		}
		return changed, err
	}
}

// ScanPairs calls fn with every pair whose appid is in the shard (All: every pair), streaming.
func (l *Ledger) ScanPairs(ctx context.Context, shard Shard, fn func(Pair) error) error {
	return scan(ctx, l, KindPair, shard, fn)
}

func runKey(id string) Key { return Key{KindRun, id} }

// Run reads one run's summary; an unknown run has Version 0.
func (l *Ledger) Run(ctx context.Context, id string) (Run, error) {
	out, err := getMany(ctx, l, []Key{runKey(id)}, func(int) Run { return Run{ID: id} })
	if err != nil {
		return Run{ID: id}, err
	}
	return out[0], nil
}

// UpdateRun applies change to the run's summary and writes it when change reports a change.
func (l *Ledger) UpdateRun(ctx context.Context, id string, change func(*Run) (bool, error)) (Run, error) {
	return update(ctx, l, runKey(id), nil, Run{ID: id}, change)
}

// RecentRuns gives the n runs started last, newest first (it scans every run: there are few).
func (l *Ledger) RecentRuns(ctx context.Context, n int) ([]Run, error) {
	var runs []Run
	newerFirst := func(a, b Run) int { return cmp.Or(b.StartedAt.Compare(a.StartedAt), cmp.Compare(b.ID, a.ID)) }
	err := scan(ctx, l, KindRun, All, func(r Run) error {
		i, _ := slices.BinarySearchFunc(runs, r, newerFirst)
		if i < n {
			runs = slices.Insert(runs, i, r)
			runs = runs[:min(len(runs), n)]
		}
		return nil
	})
	return runs, err
}
