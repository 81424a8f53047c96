package awsstore

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/aws/smithy-go/aws-http-auth/credentials"
	"github.com/aws/smithy-go/aws-http-auth/sigv4"
	v4 "github.com/aws/smithy-go/aws-http-auth/v4"

	"github.com/envshare/envshare/internal/store"
)

// Bounds of what is read of an answer. A secret holds at most 64 KiB (base64 makes that 88 KiB).
const (
	maxAnswerBytes = 1 << 20
	maxErrorBytes  = 64 << 10
)

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
	signer    *sigv4.Signer
	maxAnswer int // bytes read of a successful answer
}

func newClient(svc service, opts []Option) (*client, error) {
	c := &client{svc: svc, opts: store.NewOptions(opts),
		signer: sigv4.New(func(o *v4.SignerOptions) { o.HeaderRules = signedHeaders{} }), maxAnswer: maxAnswerBytes}
	if c.opts.Endpoint != "" {
		if err := checkEndpoint(c.opts.Endpoint); err != nil {
			return nil, fmt.Errorf("awsstore: the endpoint option %w", err)
		}
	}
	if c.opts.HTTPClient == nil {
		c.opts.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return c, nil
}

// signedHeaders signs Content-Type besides what SigV4 requires (Host, X-Amz-*), as the SDK does.
type signedHeaders struct{}

func (signedHeaders) IsSigned(h string) bool {
	return h == "host" || h == "content-type" || strings.HasPrefix(h, "x-amz-")
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
	env, err := readEnv()
	if err != nil {
		return err
	}
	endpoint, err := c.endpoint(env.region)
	if err != nil {
		return err
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode the request: %w", err)
	}
	return c.opts.Call(ctx, transient, secret, func(ctx context.Context) error {
		return c.once(ctx, env, endpoint, target, body, out)
	})
}

// once makes one attempt. No error holds the answer's body.
func (c *client) once(ctx context.Context, env environment, endpoint, target string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build the request: %w", err)
	}
	req.Header.Set("Content-Type", c.svc.contentType)
	req.Header.Set("X-Amz-Target", target)
	hash := sha256.Sum256(body)
	if err := c.signer.SignRequest(&sigv4.SignRequestInput{
		Request: req, PayloadHash: hash[:], Credentials: env.creds,
		Service: c.svc.signingName, Region: env.region,
	}); err != nil {
		return fmt.Errorf("sign the request: %w", err)
	}

	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return &noAnswerError{err} // *url.Error: names the endpoint, never a credential
	}
	defer resp.Body.Close()
	requestID := resp.Header.Get("X-Amzn-Requestid")

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		answer, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		if err != nil {
			return &noAnswerError{fmt.Errorf("read the answer (HTTP status %d): %w", resp.StatusCode, err)}
		}
		return parseError(resp, answer)
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.maxAnswer)+1))
	if err != nil {
		return &noAnswerError{fmt.Errorf("read the answer (HTTP status %d): %w", resp.StatusCode, err)}
	}
	if len(answer) > c.maxAnswer {
		return fmt.Errorf("the answer is larger than %d KiB (HTTP status %d, request id %s)", c.maxAnswer>>10, resp.StatusCode, requestID)
	}
	if err := json.Unmarshal(answer, out); err != nil {
		// The decoder's message can quote the answer, which holds the secret.
		return fmt.Errorf("the answer is not the expected JSON (HTTP status %d, request id %s)", resp.StatusCode, requestID)
	}
	return nil
}

// environment is what a call needs from the process's environment.
type environment struct {
	creds  credentials.Credentials
	region string
}

// readEnv reads the credentials and region; a missing one is an error naming the variables.
func readEnv() (environment, error) {
	e := environment{
		creds: credentials.Credentials{
			AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
			SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
			SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
		},
		region: cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION")),
	}
	var missing []string
	if e.creds.AccessKeyID == "" {
		missing = append(missing, "AWS_ACCESS_KEY_ID")
	}
	if e.creds.SecretAccessKey == "" {
		missing = append(missing, "AWS_SECRET_ACCESS_KEY")
	}
	if e.region == "" {
		missing = append(missing, "AWS_REGION (or AWS_DEFAULT_REGION)")
	}
	if len(missing) > 0 {
		return environment{}, fmt.Errorf("%w: %s not set (Lambda sets them from the execution role)",
			store.ErrMissingCredentials, strings.Join(missing, " and "))
	}
	return e, nil
}

// endpoint gives the URL requests are posted to, with the SDK's precedence: the option, the
// service's variable, the generic variable, the region's public endpoint.
func (c *client) endpoint(region string) (string, error) {
	base := c.opts.Endpoint
	if base == "" && !strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		for _, name := range []string{c.svc.endpointVar, "AWS_ENDPOINT_URL"} {
			if v := os.Getenv(name); v != "" {
				if err := checkEndpoint(v); err != nil {
					return "", fmt.Errorf("%s %w", name, err)
				}
				base = v
				break
			}
		}
	}
	if base == "" {
		base = "https://" + c.svc.signingName + "." + region + ".amazonaws.com"
		if strings.HasPrefix(region, "cn-") {
			base += ".cn"
		}
	}
	// The operation's path is "/", after whatever path the endpoint has.
	return strings.TrimRight(base, "/") + "/", nil
}

// checkEndpoint refuses what is not an http(s) URL; the message does not quote the value.
func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return errors.New("is not an http(s) URL such as https://ssm.us-east-1.amazonaws.com")
	}
	return nil
}
