package awsstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/envshare/envshare/pkg/awsjson"
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
	if err := awsjson.CheckEndpoint(queueURL); err != nil {
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

// MaxVisibilityTimeout is the longest visibility timeout SQS takes: 12 hours.
const MaxVisibilityTimeout = 12 * time.Hour

// ChangeVisibility hides the received message of receiptHandle for timeout (whole seconds,
// at most MaxVisibilityTimeout): the queue delivers it again only then.
// Needs sqs:ChangeMessageVisibility on the queue.
func (q *Queue) ChangeVisibility(ctx context.Context, receiptHandle string, timeout time.Duration) error {
	if receiptHandle == "" {
		return errors.New("AmazonSQS.ChangeMessageVisibility: the receipt handle is empty")
	}
	seconds := int(min(max(timeout, 0), MaxVisibilityTimeout).Seconds())
	in := struct {
		QueueUrl, ReceiptHandle string
		VisibilityTimeout       int
	}{q.url, receiptHandle, seconds}
	var out struct{}
	return q.c.call(ctx, "AmazonSQS.ChangeMessageVisibility", q.url, in, &out, "")
}

// QueueURL gives the URL of the queue an event source ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)
// names, on the region's public endpoint.
func QueueURL(arn string) (string, error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[3] == "" || parts[4] == "" || parts[5] == "" {
		return "", fmt.Errorf("awsstore: %q is not the ARN of an SQS queue", arn)
	}
	host := "sqs." + parts[3] + ".amazonaws.com"
	if parts[1] == "aws-cn" {
		host += ".cn"
	}
	return "https://" + host + "/" + parts[4] + "/" + parts[5], nil
}
