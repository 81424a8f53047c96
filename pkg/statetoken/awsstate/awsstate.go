// Package awsstate reads envshare's state record from AWS Secrets Manager or SSM Parameter
// Store, for package statetoken: the stores of envshare's modes aws-secretsmanager and aws-ssm,
// read only. It is a public package; it makes its calls with package awsjson (smithy-go's
// SigV4 signer) and links nothing else of AWS.
//
// By default a store reads the environment as Lambda sets it: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_REGION (or AWS_DEFAULT_REGION), and the
// endpoint variables AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_SSM and
// AWS_ENDPOINT_URL. Elsewhere (ECS, EC2, SSO), pass Options.Credentials; with the AWS SDK:
//
//	cfg, _ := config.LoadDefaultConfig(ctx)
//	sm := awsstate.NewSecretsManager(awsstate.Options{Region: cfg.Region,
//		Credentials: func(ctx context.Context) (awsstate.Credentials, error) {
//			c, err := cfg.Credentials.Retrieve(ctx)
//			return awsstate.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, err
//		}})
//	tok, err := statetoken.Read(ctx, sm, "envshare/state")
//
// The IAM policy of a reader needs secretsmanager:GetSecretValue (or ssm:GetParameter) on the state
// record alone, and kms:Decrypt when the record has a key of its own (docs/tokens-and-events.md).
package awsstate

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/envshare/envshare/pkg/awsjson"
)

// Credentials are AWS credentials.
type Credentials = awsjson.Credentials

// Options configure a store; the zero value reads the environment.
type Options struct {
	// Region, when empty, is AWS_REGION, else AWS_DEFAULT_REGION.
	Region string
	// Endpoint, when empty, is the service's endpoint variable, else AWS_ENDPOINT_URL, else
	// the region's public endpoint.
	Endpoint string
	// Credentials, when nil, are AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
	Credentials func(ctx context.Context) (Credentials, error)
	// HTTPClient, when nil, is a client of the store's own.
	HTTPClient *http.Client
}

// ErrNotFound is wrapped when the secret or parameter does not exist.
var ErrNotFound = errors.New("awsstate: record not found")

// Error is an answer that is not a success: the HTTP status and AWS's error code and message.
// It never holds the rest of the answer.
type Error struct {
	Status        int
	Code, Message string
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP status %d, not an AWS error answer", e.Status)
	}
	return fmt.Sprintf("HTTP status %d, %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap gives ErrNotFound for a missing secret or parameter.
func (e *Error) Unwrap() error {
	if e.Code == "ResourceNotFoundException" || e.Code == "ParameterNotFound" {
		return ErrNotFound
	}
	return nil
}

// SecretsManager reads a Secrets Manager secret (its AWSCURRENT SecretString): the id is the
// secret's name or ARN. It needs secretsmanager:GetSecretValue.
type SecretsManager struct{ c caller }

// NewSecretsManager returns the store; it does no I/O.
func NewSecretsManager(o Options) *SecretsManager {
	return &SecretsManager{caller{o, "secretsmanager", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "secretsmanager.GetSecretValue"}}
}

// Get reads the secret's value.
func (s *SecretsManager) Get(ctx context.Context, id string) (string, error) {
	var out SecretValue
	if err := s.c.call(ctx, id, map[string]any{"SecretId": id}, &out); err != nil {
		return "", err
	}
	if v, ok := out.Value(); ok {
		return v, nil
	}
	return "", fmt.Errorf("%s %q: the secret has no value", s.c.target, id)
}

// SecretValue is Secrets Manager's GetSecretValue answer, as far as a reader needs it.
type SecretValue struct {
	SecretString *string
	SecretBinary []byte // base64 in the JSON
}

// Value gives the SecretString, else the SecretBinary as a string; false when there is neither.
func (v SecretValue) Value() (string, bool) {
	switch {
	case v.SecretString != nil:
		return *v.SecretString, true
	case v.SecretBinary != nil:
		return string(v.SecretBinary), true
	}
	return "", false
}

// Parameters reads an SSM parameter, decrypted (envshare keeps the state record as a
// SecureString): the id is its name. It needs ssm:GetParameter.
type Parameters struct{ c caller }

// NewParameters returns the store; it does no I/O.
func NewParameters(o Options) *Parameters {
	return &Parameters{caller{o, "ssm", "AWS_ENDPOINT_URL_SSM", "AmazonSSM.GetParameter"}}
}

// Get reads the parameter's value.
func (p *Parameters) Get(ctx context.Context, name string) (string, error) {
	var out struct {
		Parameter *struct{ Value *string }
	}
	if err := p.c.call(ctx, name, map[string]any{"Name": name, "WithDecryption": true}, &out); err != nil {
		return "", err
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", fmt.Errorf("%s %q: the answer holds no value", p.c.target, name)
	}
	return *out.Parameter.Value, nil
}

// maxAnswer bounds what is read of an answer: a record holds at most 64 KiB.
const maxAnswer = 1 << 20

// caller makes one signed JSON call of one service.
type caller struct {
	o           Options
	service     string // the signing name and the public endpoint's host prefix
	endpointVar string
	target      string // X-Amz-Target
}

func (c caller) call(ctx context.Context, id string, in, out any) error {
	if err := c.once(ctx, in, out); err != nil {
		return fmt.Errorf("%s %q: %w", c.target, id, err)
	}
	return nil
}

func (c caller) once(ctx context.Context, in, out any) error {
	creds, err := c.credentials(ctx)
	if err != nil {
		return err
	}
	region := cmp.Or(c.o.Region, awsjson.EnvRegion())
	if region == "" {
		return errors.New("no region: set Options.Region or AWS_REGION")
	}
	endpoint, err := awsjson.Endpoint(c.o.Endpoint, c.service, c.endpointVar, region)
	if err != nil {
		return err
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	client := c.o.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	a, err := awsjson.Send(ctx, client, awsjson.Request{Endpoint: endpoint, Service: c.service, Region: region,
		ContentType: "application/x-amz-json-1.1", Target: c.target, Body: body, Credentials: creds}, maxAnswer)
	if err != nil {
		return err
	}
	if !a.OK() {
		code, message := a.ErrorCode()
		return &Error{Status: a.Status, Code: code, Message: message}
	}
	return a.Decode(out)
}

func (c caller) credentials(ctx context.Context) (Credentials, error) {
	if c.o.Credentials != nil {
		return c.o.Credentials(ctx)
	}
	creds := awsjson.EnvCredentials()
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return Credentials{}, errors.New("no credentials: set Options.Credentials, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	return creds, nil
}
