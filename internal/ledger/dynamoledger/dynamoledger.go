// Package dynamoledger is the ledger's DynamoDB engine, ENVSHARE_LEDGER=dynamodb:TABLE, for the AWS
// function. It never creates the table (template.yaml does): a string partition key pk and a string
// sort key sk, nothing else, no index. The calls are hand-signed requests
// (internal/store/awsstore's client), not the SDK's: the SDK's DynamoDB client costs every cold
// start about 4.5 ms of package initialisation, ledger or not (see the library table of
// docs/development.md). AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL are honoured.
//
// Items: pk, sk, v (the version, a number) and doc (the JSON document, a string).
//
//	authorizer  pk "authorizer#NN"  sk appid
//	pair        pk "pair#NN"        sk "appid/env"
//	run         pk "run"            sk run id
//	bucket      pk "bucket"         sk bucket name
//
// NN is ledger.ShardHash(appid) % 60, two digits: authorizers and pairs are spread over 60
// partitions, and a scan of shard i of n queries only the partitions whose number is i modulo
// gcd(n, 60) (a tenth of them for 10 or 50 shards, a quarter for 8) and drops the records of
// other shards as they arrive. Scans query up to four partitions at once.
//
// Reads are strongly consistent (a conditional write must start from the latest version).
// Needs dynamodb:GetItem, PutItem, BatchGetItem and Query on the table.
package dynamoledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/store/awsstore"
	"github.com/envshare/envshare/pkg/retry"
)

// Engine opens ENVSHARE_LEDGER=dynamodb:TABLE.
var Engine = ledger.Engine{
	Scheme: ledger.SchemeDynamoDB,
	Open: func(ctx context.Context, table string) (ledger.Driver, error) {
		return Open(ctx, table, Options{})
	},
}

// Layout constants.
const (
	// Partitions is how many partition keys a sharded kind is spread over: 60 has many
	// divisors, so that most shard counts read a small part of the table.
	Partitions = 60
	// BatchKeys is the most keys one BatchGetItem takes.
	BatchKeys = 100
	// scanParallel is how many partitions a scan queries at once.
	scanParallel = 4
	// unprocessedAttempts bounds the BatchGetItem calls for keys DynamoDB left unprocessed.
	unprocessedAttempts = 8
)

// Options tune a Driver.
type Options struct {
	// PageSize is the most items a Query page asks for; 0: DynamoDB's own 1 MB pages.
	PageSize int
	// Client configures the calls (endpoint, HTTP client, attempts); the environment gives
	// the rest.
	Client []awsstore.Option
}

// Driver is the ledger's Driver on a DynamoDB table.
type Driver struct {
	table string
	db    *awsstore.DynamoDB
	opts  Options
}

var _ ledger.Driver = (*Driver)(nil)

// Open checks the table with one read (so that a wrong table, endpoint or credentials fail
// at cold start) and returns the driver.
func Open(ctx context.Context, table string, opts Options) (*Driver, error) {
	db, err := awsstore.NewDynamoDB(opts.Client...)
	if err != nil {
		return nil, err
	}
	d := &Driver{table: table, db: db, opts: opts}
	if _, err := d.Get(ctx, ledger.Key{Kind: ledger.KindRun, ID: "open-probe"}); err != nil {
		var e *awsstore.Error
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("dynamodb ledger: there is no table %q (template.yaml creates it, with the string keys pk and sk): %w", table, err)
		case errors.Is(err, store.ErrMissingCredentials) || errors.As(err, &e):
			return nil, fmt.Errorf("dynamodb ledger: table %q: %w", table, err)
		}
		return nil, fmt.Errorf("dynamodb ledger: table %q: %w: %w", table, ledger.ErrUnreachable, err)
	}
	return d, nil
}

// Wire shapes of DynamoDB's JSON protocol, for the four attributes the ledger uses.
type (
	str struct {
		S string `json:"S"`
	}
	num struct {
		N string `json:"N"`
	}
	keyAttrs struct {
		PK str `json:"pk"`
		SK str `json:"sk"`
	}
	itemAttrs struct {
		PK  str `json:"pk"`
		SK  str `json:"sk"`
		V   num `json:"v"`
		Doc str `json:"doc"`
	}
)

// partition gives the partition key of the record key names.
func partition(k ledger.Key) string {
	if !k.Kind.Sharded() {
		return string(k.Kind)
	}
	return partitionOf(k.Kind, int(ledger.ShardHash(k.ID)%Partitions))
}

func partitionOf(kind ledger.Kind, n int) string { return fmt.Sprintf("%s#%02d", kind, n) }

func keyOf(k ledger.Key) keyAttrs { return keyAttrs{PK: str{partition(k)}, SK: str{k.ID}} }

// item turns a stored item into the ledger's; kind is the kind it was asked for.
func item(kind ledger.Kind, a itemAttrs) (ledger.Item, error) {
	v, err := strconv.ParseInt(a.V.N, 10, 64)
	if err != nil || v < 1 {
		return ledger.Item{}, fmt.Errorf("dynamodb ledger: the item %s/%s has no valid version", a.PK.S, a.SK.S)
	}
	return ledger.Item{Key: ledger.Key{Kind: kind, ID: a.SK.S}, Doc: []byte(a.Doc.S), Version: v}, nil
}

// Get reads one record.
func (d *Driver) Get(ctx context.Context, key ledger.Key) (ledger.Item, error) {
	in := struct {
		TableName      string
		Key            keyAttrs
		ConsistentRead bool
	}{d.table, keyOf(key), true}
	var out struct{ Item *itemAttrs }
	if err := d.db.Call(ctx, "GetItem", d.table, in, &out); err != nil {
		return ledger.Item{Key: key}, fmt.Errorf("dynamodb ledger: read %s: %w", key, err)
	}
	if out.Item == nil {
		return ledger.Item{Key: key}, nil
	}
	return item(key.Kind, *out.Item)
}

// GetMany reads records BatchKeys at a time, asking again for keys DynamoDB left unprocessed.
func (d *Driver) GetMany(ctx context.Context, keys []ledger.Key) ([]ledger.Item, error) {
	out := make([]ledger.Item, len(keys))
	at := map[keyAttrs][]int{} // where each key goes in out
	var unique []keyAttrs      // BatchGetItem refuses a key given twice
	kinds := map[keyAttrs]ledger.Kind{}
	for i, k := range keys {
		out[i].Key = k
		ka := keyOf(k)
		if at[ka] == nil {
			unique = append(unique, ka)
			kinds[ka] = k.Kind
		}
		at[ka] = append(at[ka], i)
	}
	for start := 0; start < len(unique); start += BatchKeys {
		pending := unique[start:min(start+BatchKeys, len(unique))]
		for attempt := 1; len(pending) > 0; attempt++ {
			if attempt > unprocessedAttempts {
				return nil, fmt.Errorf("dynamodb ledger: %d keys still unprocessed after %d batch reads (throttled)", len(pending), unprocessedAttempts)
			}
			if attempt > 1 {
				if err := unprocessedPolicy.Pause(ctx, unprocessedPolicy.Backoff(attempt-1)); err != nil {
					return nil, err
				}
			}
			type request struct {
				Keys           []keyAttrs
				ConsistentRead bool
			}
			in := struct{ RequestItems map[string]request }{map[string]request{d.table: {pending, true}}}
			var answer struct {
				Responses       map[string][]itemAttrs
				UnprocessedKeys map[string]request
			}
			if err := d.db.Call(ctx, "BatchGetItem", d.table, in, &answer); err != nil {
				return nil, fmt.Errorf("dynamodb ledger: read %d records: %w", len(pending), err)
			}
			for _, a := range answer.Responses[d.table] {
				ka := keyAttrs{PK: a.PK, SK: a.SK}
				it, err := item(kinds[ka], a)
				if err != nil {
					return nil, err
				}
				for _, i := range at[ka] {
					out[i].Doc, out[i].Version = it.Doc, it.Version
				}
			}
			pending = answer.UnprocessedKeys[d.table].Keys
		}
	}
	return out, nil
}

// Put writes the record, conditional on its version.
func (d *Driver) Put(ctx context.Context, it ledger.Item) error {
	if err := ledger.CheckKey(it.Key); err != nil {
		return err
	}
	k := keyOf(it.Key)
	in := struct {
		TableName                 string
		Item                      itemAttrs
		ConditionExpression       string
		ExpressionAttributeNames  map[string]string `json:",omitempty"`
		ExpressionAttributeValues map[string]num    `json:",omitempty"`
	}{
		TableName: d.table,
		Item:      itemAttrs{PK: k.PK, SK: k.SK, V: num{strconv.FormatInt(it.Version+1, 10)}, Doc: str{string(it.Doc)}},
	}
	if it.Version == 0 {
		in.ConditionExpression = "attribute_not_exists(pk)"
	} else {
		in.ConditionExpression = "#v = :v"
		in.ExpressionAttributeNames = map[string]string{"#v": "v"}
		in.ExpressionAttributeValues = map[string]num{":v": {strconv.FormatInt(it.Version, 10)}}
	}
	err := d.db.Call(ctx, "PutItem", d.table, in, &struct{}{})
	var e *awsstore.Error
	if errors.As(err, &e) && e.Code == "ConditionalCheckFailedException" {
		return fmt.Errorf("%s: %w", it.Key, ledger.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("dynamodb ledger: write %s: %w", it.Key, err)
	}
	return nil
}

// Scan queries the partitions that can hold the shard's records, scanParallel at a time, and
// calls fn with the shard's records one page after another.
func (d *Driver) Scan(ctx context.Context, kind ledger.Kind, shard ledger.Shard, fn func(ledger.Item) error) error {
	if err := shard.Check(); err != nil {
		return err
	}
	parts := partitions(kind, shard)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	next := make(chan string, len(parts))
	for _, p := range parts {
		next <- p
	}
	close(next)
	pages := make(chan []ledger.Item)
	for range min(scanParallel, len(parts)) {
		g.Go(func() error {
			for p := range next {
				err := d.query(gctx, kind, p, func(page []ledger.Item) error {
					select {
					case pages <- page:
						return nil
					case <-gctx.Done():
						return gctx.Err()
					}
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	var wait sync.Once
	var queryErr error
	done := func() { wait.Do(func() { queryErr = g.Wait(); close(pages) }) }
	go done()
	var fnErr error
	for page := range pages {
		for _, it := range page {
			if fnErr != nil || !shard.Has(it.Key.ID) {
				continue
			}
			if fnErr = fn(it); fnErr != nil {
				cancel() // the queries stop; the loop drains what they had sent
			}
		}
	}
	done()
	if fnErr != nil {
		return fnErr
	}
	return queryErr
}

// partitions lists the partition keys that can hold kind's records of shard.
func partitions(kind ledger.Kind, shard ledger.Shard) []string {
	if !kind.Sharded() {
		return []string{string(kind)}
	}
	step := Partitions
	if shard.Count > 0 {
		step = gcd(shard.Count, Partitions)
	}
	var parts []string
	for n := 0; n < Partitions; n++ {
		if shard.Count == 0 || n%step == shard.Index%step {
			parts = append(parts, partitionOf(kind, n))
		}
	}
	return parts
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// query reads one partition a page at a time.
func (d *Driver) query(ctx context.Context, kind ledger.Kind, pk string, page func([]ledger.Item) error) error {
	in := struct {
		TableName                 string
		KeyConditionExpression    string
		ExpressionAttributeValues map[string]str
		ConsistentRead            bool
		Limit                     int       `json:",omitempty"`
		ExclusiveStartKey         *keyAttrs `json:",omitempty"`
	}{d.table, "pk = :pk", map[string]str{":pk": {pk}}, true, d.opts.PageSize, nil}
	for {
		var out struct {
			Items            []itemAttrs
			LastEvaluatedKey *keyAttrs
		}
		if err := d.db.Call(ctx, "Query", d.table, in, &out); err != nil {
			return fmt.Errorf("dynamodb ledger: scan %s: %w", pk, err)
		}
		items := make([]ledger.Item, len(out.Items))
		for i, a := range out.Items {
			var err error
			if items[i], err = item(kind, a); err != nil {
				return err
			}
		}
		if len(items) > 0 {
			if err := page(items); err != nil {
				return err
			}
		}
		if out.LastEvaluatedKey == nil {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// Close does nothing: the HTTP client's idle connections close by themselves.
func (d *Driver) Close() error { return nil }

// unprocessedPolicy paces the batch reads of keys DynamoDB left unprocessed (throttling).
var unprocessedPolicy = retry.Policy{Base: 100 * time.Millisecond, Max: 2 * time.Second}
