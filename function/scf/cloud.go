package main

import (
	"os"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/mysqlledger"
	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/store/tencentstore"
	"github.com/envshare/envshare/internal/trigger"
)

// cloud is what the SCF binary links: Tencent SSM stores (read and write, with the function
// role's credentials SCF sets in each invocation), the asynchronous self-invocation that
// retries an onboarding and the MySQL ledger (TencentDB for MySQL through the function's VPC).
// It links nothing of AWS, and no other ledger engine.
func cloud() trigger.Cloud {
	return trigger.Cloud{
		Name: "Tencent SCF",
		Stores: map[string]func(config.Config) (store.Store, store.Store, error){
			"tencent-ssm": func(cfg config.Config) (store.Store, store.Store, error) {
				opts := []tencentstore.Option{store.WithAttempts(cfg.Attempts)}
				if cfg.TencentSSMEndpoint != "" {
					opts = append(opts, store.WithEndpoint(cfg.TencentSSMEndpoint))
				}
				creds, err := tencentstore.NewSSM(append(opts, tencentstore.WithVersionID(cfg.TencentSSMVersionID))...)
				if err != nil {
					return nil, nil, err
				}
				state, err := tencentstore.NewSSM(append(opts, tencentstore.WithVersionID(cfg.TencentSSMStateVersionID))...)
				return creds, state, err
			},
		},
		Ledgers: []ledger.Engine{mysqlledger.Engine},
		Retry: func(cfg config.Config) (trigger.Retry, error) {
			// SCF sets both for every function; without them (a local run) there is no retry.
			name, namespace := os.Getenv("SCF_FUNCTIONNAME"), os.Getenv("SCF_NAMESPACE")
			if name == "" {
				return nil, nil
			}
			inv, err := tencentstore.NewInvoker(name, namespace, store.WithAttempts(cfg.Attempts))
			if err != nil {
				return nil, err
			}
			return inv.Invoke, nil
		},
	}
}
