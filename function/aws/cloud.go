package main

import (
	"context"
	"time"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/dynamoledger"
	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/store/awsstore"
	"github.com/envshare/envshare/internal/trigger"
)

// cloud is what the AWS binary links: Secrets Manager and SSM stores (read and write, with
// the role's credentials from the environment), the SQS queue of onboarding retries and the
// DynamoDB ledger. It links nothing of Tencent Cloud, and no other ledger engine.
func cloud() trigger.Cloud {
	return trigger.Cloud{
		Name: "AWS Lambda",
		Stores: map[string]func(config.Config) (store.Store, store.Store, error){
			"aws-secretsmanager": func(cfg config.Config) (store.Store, store.Store, error) {
				s, err := awsstore.NewSecretsManager(store.WithAttempts(cfg.Attempts))
				return s, s, err
			},
			"aws-ssm": func(cfg config.Config) (store.Store, store.Store, error) {
				creds, err := awsstore.NewParameters(store.WithAttempts(cfg.Attempts))
				if err != nil {
					return nil, nil, err
				}
				state, err := awsstore.NewParameters(store.WithAttempts(cfg.Attempts), awsstore.WithKMSKeyID(cfg.StateKMSKeyID))
				return creds, state, err
			},
		},
		Ledgers: []ledger.Engine{dynamoledger.Engine},
		Retry: func(cfg config.Config) (trigger.Retry, error) {
			if cfg.RetryQueueURL == "" {
				return nil, nil
			}
			q, err := awsstore.NewQueue(cfg.RetryQueueURL, store.WithAttempts(cfg.Attempts))
			if err != nil {
				return nil, err
			}
			return q.Send, nil
		},
	}
}

// hideRecord hides a received record of the queue queueARN for d (ChangeMessageVisibility on
// the queue's regional endpoint, or AWS_ENDPOINT_URL_SQS).
func hideRecord(ctx context.Context, queueARN, receiptHandle string, d time.Duration) error {
	url, err := awsstore.QueueURL(queueARN)
	if err != nil {
		return err
	}
	q, err := awsstore.NewQueue(url)
	if err != nil {
		return err
	}
	return q.ChangeVisibility(ctx, receiptHandle, d)
}
