package awsstore

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/pkg/awsjson"
)

// maxAnswerBytes bounds what is read of a successful answer. A secret holds at most 64 KiB
// (base64 makes that 88 KiB).
const maxAnswerBytes = 1 << 20

// service describes one AWS service's endpoint and protocol.
type service struct {
	signingName string // SigV4 service name and public endpoint's host prefix
	endpointVar string // its AWS_ENDPOINT_URL_* variable
	contentType string // application/x-amz-json-1.0 or 1.1
}

var (
	secretsManager = service{"secretsmanager", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "application/x-amz-json-1.1"}
	ssm            = service{"ssm", "AWS_ENDPOINT_URL_SSM", "application/x-amz-json-1.1"}
	sqs            = service{"sqs", "AWS_ENDPOINT_URL_SQS", "application/x-amz-json-1.0"}
)

// client makes signed calls to one service.
type client struct {
	svc       service
	opts      store.Options
	maxAnswer int // bytes read of a successful answer
}

func newClient(svc service, opts []Option) (*client, error) {
	c := &client{svc: svc, opts: store.NewOptions(opts), maxAnswer: maxAnswerBytes}
	if c.opts.Endpoint != "" {
		if err := awsjson.CheckEndpoint(c.opts.Endpoint); err != nil {
			return nil, fmt.Errorf("awsstore: the endpoint option %w", err)
		}
	}
	if c.opts.HTTPClient == nil {
		c.opts.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return c, nil
}

// call sends one operation (target is the X-Amz-Target header) with in as its JSON body and
// decodes the answer into out, retrying transient failures. secret, when not empty, is
// redacted from the service's error messages (store.Options.Call).
func (c *client) call(ctx context.Context, target, id string, in, out any, secret string) error {
	err := c.retry(ctx, target, in, out, secret)
	if err != nil {
		return fmt.Errorf("%s %q: %w", target, id, err)
	}
	return nil
}

func (c *client) retry(ctx context.Context, target string, in, out any, secret string) error {
	creds, region, err := readEnv()
	if err != nil {
		return err
	}
	endpoint, err := c.endpoint(region)
	if err != nil {
		return err
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode the request: %w", err)
	}
	r := awsjson.Request{Endpoint: endpoint, Service: c.svc.signingName, Region: region,
		ContentType: c.svc.contentType, Target: target, Body: body, Credentials: creds}
	return c.opts.Call(ctx, transient, secret, func(ctx context.Context) error {
		a, err := awsjson.Send(ctx, c.opts.HTTPClient, r, c.maxAnswer)
		switch {
		case err != nil:
			return err
		case !a.OK():
			return newError(a)
		}
		return a.Decode(out)
	})
}

// readEnv reads the credentials and region; a missing one is an error naming the variables.
func readEnv() (awsjson.Credentials, string, error) {
	creds, region := awsjson.EnvCredentials(), awsjson.EnvRegion()
	var missing []string
	if creds.AccessKeyID == "" {
		missing = append(missing, "AWS_ACCESS_KEY_ID")
	}
	if creds.SecretAccessKey == "" {
		missing = append(missing, "AWS_SECRET_ACCESS_KEY")
	}
	if region == "" {
		missing = append(missing, "AWS_REGION (or AWS_DEFAULT_REGION)")
	}
	if len(missing) > 0 {
		return awsjson.Credentials{}, "", fmt.Errorf("%w: %s not set (Lambda sets them from the execution role)",
			store.ErrMissingCredentials, strings.Join(missing, " and "))
	}
	return creds, region, nil
}

// endpoint gives the URL requests are posted to, with the SDK's precedence: the option, the
// service's variable, the generic variable, the region's public endpoint.
func (c *client) endpoint(region string) (string, error) {
	return awsjson.Endpoint(c.opts.Endpoint, c.svc.signingName, c.svc.endpointVar, region)
}
