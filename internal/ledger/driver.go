package ledger

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
)

// Kind is a kind of record.
type Kind string

// The kinds of record. Authorizers and pairs are sharded by appid; the others are few.
const (
	KindAuthorizer Kind = "authorizer"
	KindPair       Kind = "pair"
	KindRun        Kind = "run"
	KindBucket     Kind = "bucket"
)

// Kinds lists every kind, for engines that check what they are given.
var Kinds = []Kind{KindAuthorizer, KindPair, KindRun, KindBucket}

// Sharded reports whether records of the kind fall in shards (by the appid their id starts
// with) and are many: engines spread them so that a shard's scan need not read the others.
func (k Kind) Sharded() bool { return k == KindAuthorizer || k == KindPair }

// Key names one record. For sharded kinds the id starts with the appid: the authorizer's id
// is its appid, a pair's is "appid/env".
type Key struct {
	Kind Kind
	ID   string
}

func (k Key) String() string { return string(k.Kind) + " " + k.ID }

// Item is a record as the driver stores it: a JSON document and its version, which counts the
// writes (1 after the first). Version 0 means the record does not exist.
type Item struct {
	Key     Key
	Doc     []byte
	Version int64
}

// ErrConflict: a conditional write found another version than the one it was given (another
// writer came first, or the record exists where it was expected absent, or the reverse).
var ErrConflict = errors.New("ledger: the record changed since it was read")

// MaxIDBytes bounds a record's id (the SQL engines' column and DynamoDB's sort key hold it).
const MaxIDBytes = 255

// Driver is what an engine implements. Every method is safe for concurrent use.
type Driver interface {
	// Get reads one record; an absent one is an Item with Version 0 and no error.
	Get(ctx context.Context, key Key) (Item, error)
	// GetMany reads records in batches (the engine's own chunk size); the answer has one item
	// per key, in the keys' order, Version 0 for an absent one. A key may repeat.
	GetMany(ctx context.Context, keys []Key) ([]Item, error)
	// Put writes item.Doc as version item.Version+1 if the stored version is item.Version
	// (0: the record must not exist), else returns an error wrapping ErrConflict. A write is
	// whole or not at all.
	Put(ctx context.Context, item Item) error
	// Scan calls fn with every record of kind in shard (every record when shard.Count is 0), a
	// page at a time (never all in memory), in no promised order. fn's error ends the scan and
	// is returned. fn may write to the ledger.
	Scan(ctx context.Context, kind Kind, shard Shard, fn func(Item) error) error
	// Close releases the engine's connections.
	Close() error
}

// Shard is one of Count slices of the appids; Count 0 means every appid.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// All is the shard of every record.
var All = Shard{}

// Check refuses a shard outside [0, Count).
func (s Shard) Check() error {
	if s.Count < 0 || (s.Count > 0 && (s.Index < 0 || s.Index >= s.Count)) || (s.Count == 0 && s.Index != 0) {
		return fmt.Errorf("ledger: shard %d of %d: the index must be in [0, count)", s.Index, s.Count)
	}
	return nil
}

// Has reports whether the record with this id (of a sharded kind) falls in the shard.
func (s Shard) Has(id string) bool {
	return s.Count == 0 || int(ShardHash(id)%uint32(s.Count)) == s.Index
}

// ShardHash is the FNV-1a 32 hash of the appid an id starts with (up to its first "/"): the
// hash of pkg/share's ShardOf, which is ShardHash(appid) % count.
func ShardHash(id string) uint32 {
	appid, _, _ := strings.Cut(id, "/")
	h := fnv.New32a()
	h.Write([]byte(appid))
	return h.Sum32()
}

// CheckKey refuses a key that no engine can store: an unknown kind, an empty or too long id.
func CheckKey(k Key) error {
	known := false
	for _, kind := range Kinds {
		known = known || k.Kind == kind
	}
	switch {
	case !known:
		return fmt.Errorf("ledger: unknown kind %q", k.Kind)
	case k.ID == "":
		return fmt.Errorf("ledger: a %s needs an id", k.Kind)
	case len(k.ID) > MaxIDBytes:
		return fmt.Errorf("ledger: the %s id is longer than %d bytes", k.Kind, MaxIDBytes)
	}
	return nil
}
