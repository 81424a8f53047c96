// Package awsstore keeps envshare's secrets in AWS Secrets Manager or SSM Parameter Store, and
// sends onboarding retries to an SQS queue, with nothing of the AWS SDK but a SigV4 signer. Its
// DynamoDB caller carries the ledger's DynamoDB engine (internal/ledger/dynamoledger).
//
// Each call is one hand-written request of the service's own wire protocol (AWS JSON 1.1 for
// Secrets Manager and SSM, AWS JSON 1.0 for SQS and DynamoDB), signed with
// github.com/aws/smithy-go/aws-http-auth/sigv4: the signer that adds the least to the binary.
// There is no shared configuration, SSO, STS or instance metadata: on Lambda the execution
// role's credentials are in the environment.
//
// The environment is read at every call:
//   - credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and, for temporary credentials,
//     AWS_SESSION_TOKEN;
//   - region: AWS_REGION, else AWS_DEFAULT_REGION;
//   - endpoint: the WithEndpoint option, else AWS_ENDPOINT_URL_SECRETS_MANAGER,
//     AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_SQS or AWS_ENDPOINT_URL_DYNAMODB, else
//     AWS_ENDPOINT_URL (both ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true, as the
//     SDK does), else the region's public endpoint.
//
// Transient failures (no answer, HTTP 5xx or 429, throttling) are attempted again with capped,
// jittered backoff; other errors are not. Errors carry the AWS error code and message, the HTTP
// status and the request id, never the rest of an answer's body (a successful answer holds the
// secret; a proxy's page may quote anything) and never a credential.
package awsstore
