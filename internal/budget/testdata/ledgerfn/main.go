// Command ledgerfn is the function's core with the SQLite ledger, over SCF's net/rpc protocol,
// for BenchmarkReconcileByCustomer: the deployed binaries link DynamoDB or MySQL, which the
// benchmark does not start. Every invocation is a direct message, handled as both binaries
// handle one (trigger.App.Message, then trigger.Answer).
package main

import (
	"context"
	"encoding/json"

	"github.com/tencentyun/scf-go-lib/cloudfunction"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/sqliteledger"
	"github.com/envshare/envshare/internal/trigger"
)

func main() {
	app := trigger.New(trigger.Options{Platform: trigger.PlatformSCF,
		Cloud: trigger.Cloud{Name: "benchmark", Ledgers: []ledger.Engine{sqliteledger.Engine}}})
	cloudfunction.Start(func(ctx context.Context, payload json.RawMessage) (any, error) {
		return trigger.Answer(app.Message(ctx, payload))
	})
}
