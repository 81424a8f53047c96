// Package ledger is envshare's memory of the fleet (the contract's section 8): per authorizer
// its principal and permission sets, per (env, appid) pair its state and confirmation link,
// the per-run summaries of sharded reconciles, and the token bucket that holds the platform's
// rate limit across instances (section 9). It never holds a token, a ticket or a refresh
// token: every document passes through the Options.Redactor before it is written.
//
// A Ledger is the typed layer every caller uses. It stands on a Driver of a few methods (read,
// batch read, conditional write, streaming scan), and each engine is a package of its own, so
// that a binary links only the engine it opens:
//
//	sqliteledger  sqlite:PATH        modernc.org/sqlite (pure Go): the local tools and tests
//	mysqlledger   mysql, mysql:DSN   go-sql-driver/mysql: the SCF function (TencentDB for MySQL)
//	dynamoledger  dynamodb:TABLE     hand-signed DynamoDB calls: the AWS function
//
// sqlledger holds what the two SQL engines share, ledgertest the conformance suite every
// engine passes, and enginetest starts MariaDB and dynalite for tests.
//
// Open reads ENVSHARE_LEDGER and opens it with the engines the caller links in:
//
//	l, err := ledger.Open(ctx, os.Getenv("ENVSHARE_LEDGER"), creds.LedgerDSN, ledger.Options{},
//		dynamoledger.Engine)
//
// # Records and writes
//
// A record is a small JSON document with a version. Every write is conditional on the version
// that was read, and the Update methods read, apply the caller's change, write, and on a
// conflict (another instance wrote first) read again and reapply, until the write goes through
// or the context ends: concurrent writers of one record never lose each other's fields. A
// change function may therefore run more than once and must only change the record it is
// given. Nothing is written when it reports no change.
//
// # Shards
//
// An authorizer, and every pair of its appid, falls in the shard ShardOf(appid, count), which
// is pkg/share's ShardOf: FNV-1a 32 of the appid modulo the count. ScanAuthorizers and ScanPairs
// with a Shard read only that shard's records, streaming them a page at a time.
package ledger
