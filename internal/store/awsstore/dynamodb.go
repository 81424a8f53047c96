package awsstore

import "context"

// dynamoDB is DynamoDB's endpoint and protocol.
var dynamoDB = service{"dynamodb", "AWS_ENDPOINT_URL_DYNAMODB", "application/x-amz-json-1.0"}

// maxDynamoDBAnswer bounds a DynamoDB answer: a Query page holds up to 1 MB of items, which
// their JSON form makes larger.
const maxDynamoDBAnswer = 8 << 20

// DynamoDB makes DynamoDB calls for the ledger's DynamoDB engine (internal/ledger/dynamoledger)
// with the stores' signing, endpoints (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL), retries
// and errors: one hand-written request of AWS JSON 1.0 per call, no SDK.
type DynamoDB struct{ c *client }

// NewDynamoDB checks the options; the environment is read at every call.
func NewDynamoDB(opts ...Option) (*DynamoDB, error) {
	c, err := newClient(dynamoDB, opts)
	if err != nil {
		return nil, err
	}
	c.maxAnswer = maxDynamoDBAnswer
	return &DynamoDB{c}, nil
}

// Call makes the operation op (such as "GetItem") on table with in as its JSON body, and
// decodes the answer into out. Errors name the operation and the table; a refusal is an
// *Error with DynamoDB's code (such as ConditionalCheckFailedException).
func (d *DynamoDB) Call(ctx context.Context, op, table string, in, out any) error {
	return d.c.call(ctx, "DynamoDB_20120810."+op, table, in, out, "")
}
