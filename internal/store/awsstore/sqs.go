package awsstore

import (
	"context"
	"errors"
	"fmt"
)

// Queue sends messages to one SQS queue: the onboarding retry queue.
type Queue struct {
	c   *client
	url string
}

// NewQueue checks the queue URL and the options; the environment is read at every call. The
// call goes to the region's SQS endpoint (or the configured one), as the SDK's does: the queue
// must be in the function's region.
func NewQueue(queueURL string, opts ...Option) (*Queue, error) {
	if err := checkEndpoint(queueURL); err != nil {
		return nil, fmt.Errorf("awsstore: the queue URL %w", err)
	}
	c, err := newClient(sqs, opts)
	if err != nil {
		return nil, err
	}
	return &Queue{c: c, url: queueURL}, nil
}

// Send enqueues body. An attempt repeated after a lost answer may enqueue it twice (a standard
// queue delivers at least once anyway): consumers must be idempotent.
// Needs sqs:SendMessage on the queue (and kms:GenerateDataKey when it has its own key).
func (q *Queue) Send(ctx context.Context, body string) error {
	if body == "" {
		return errors.New("AmazonSQS.SendMessage: the message body is empty")
	}
	in := struct{ QueueUrl, MessageBody string }{q.url, body}
	var out struct{ MessageId string }
	return q.c.call(ctx, "AmazonSQS.SendMessage", q.url, in, &out, body)
}
