// Command ledgerfn is the function's core with the SQLite ledger, over SCF's net/rpc protocol,
// for the benchmarks of reconciles by customer: the deployed binaries link DynamoDB or MySQL,
// which the benchmarks do not start. Every invocation is a direct message, handled as both
// binaries handle one (trigger.App.Message, then trigger.Answer). With LOCAL_QUEUE_DIR, the
// platform's retry is that local queue (internal/localqueue): a large reconcile hands its shards
// to it, as the AWS function hands them to its SQS queue.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/tencentyun/scf-go-lib/cloudfunction"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/sqliteledger"
	"github.com/envshare/envshare/internal/localqueue"
	"github.com/envshare/envshare/internal/trigger"
)

func main() {
	cloud := trigger.Cloud{Name: "benchmark", Ledgers: []ledger.Engine{sqliteledger.Engine}}
	if dir := os.Getenv("LOCAL_QUEUE_DIR"); dir != "" {
		cloud.Retry = func(config.Config) (trigger.Retry, error) {
			q, err := localqueue.Open(dir)
			if err != nil {
				return nil, err
			}
			return q.Send, nil
		}
	}
	app := trigger.New(trigger.Options{Platform: trigger.PlatformSCF, Cloud: cloud})
	cloudfunction.Start(func(ctx context.Context, payload json.RawMessage) (any, error) {
		return trigger.Answer(app.Message(ctx, payload))
	})
}
