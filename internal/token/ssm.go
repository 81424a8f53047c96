package token

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go"
)

// maxSSMAnswerBytes bounds what is read of an SSM answer; a parameter holds at most 8 KiB.
const maxSSMAnswerBytes = 1 << 20

// parameterLoader reads an SSM parameter, decrypted (SecureString), with one hand-written AWS
// JSON 1.1 GetParameter call signed by the SDK's SigV4 signer. The SDK's ssm client is not used:
// its package initialisation alone costs ~7 ms of every cold start.
type parameterLoader struct {
	session *awsSession
	name    string
}

func (l *parameterLoader) Load(ctx context.Context) (string, error) {
	cfg, err := l.session.config(ctx)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(struct {
		Name           string
		WithDecryption bool
	}{l.name, true})
	if err != nil {
		return "", fmt.Errorf("operation error SSM: GetParameter, encode the request: %w", err)
	}
	call := ssmCall{cfg: cfg, endpoint: l.endpoint(ctx, cfg), body: body}

	backoff := l.session.opts.backoff
	if backoff == nil {
		jitter := retry.NewExponentialJitterBackoff(retry.DefaultMaxBackoff) // the SDK's default
		backoff = func(n int) time.Duration { d, _ := jitter.BackoffDelay(n, nil); return d }
	}
	for n := 1; ; n++ {
		value, err := call.do(ctx)
		if err == nil {
			return value, nil
		}
		err = fmt.Errorf("operation error SSM: GetParameter, %w", err)
		if ctx.Err() != nil || n >= l.session.attempts || !ssmTransient(err) {
			return "", err
		}
		if werr := wait(ctx, backoff(n)); werr != nil {
			return "", fmt.Errorf("%w (%v)", werr, err)
		}
	}
}

// endpoint gives the SSM endpoint with the precedence the SDK's client would apply: the
// WithAWSEndpoint option, AWS_ENDPOINT_URL_SSM (or the shared config's ssm section), the
// generic AWS_ENDPOINT_URL, then the region's public endpoint.
func (l *parameterLoader) endpoint(ctx context.Context, cfg aws.Config) string {
	if e := l.session.opts.awsEndpoint; e != "" {
		return e
	}
	// As the SDK does, AWS_ENDPOINT_URL alone wins over the shared config's ssm section.
	_, generic := os.LookupEnv("AWS_ENDPOINT_URL")
	_, service := os.LookupEnv("AWS_ENDPOINT_URL_SSM")
	ignore, found, _ := awsconfig.GetIgnoreConfiguredEndpoints(ctx, cfg.ConfigSources)
	if (service || !generic) && !(found && ignore) {
		type serviceEndpoint interface {
			GetServiceBaseEndpoint(ctx context.Context, sdkID string) (string, bool, error)
		}
		for _, src := range cfg.ConfigSources {
			if p, ok := src.(serviceEndpoint); ok {
				if e, found, err := p.GetServiceBaseEndpoint(ctx, "SSM"); err == nil && found && e != "" {
					return e
				}
			}
		}
	}
	if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
		return *cfg.BaseEndpoint
	}
	if strings.HasPrefix(cfg.Region, "cn-") {
		return "https://ssm." + cfg.Region + ".amazonaws.com.cn"
	}
	return "https://ssm." + cfg.Region + ".amazonaws.com"
}

// ssmCall is one signed GetParameter request, repeatable.
type ssmCall struct {
	cfg      aws.Config
	endpoint string
	body     []byte
}

// ssmConnError is a failure to send the request or to read the answer.
type ssmConnError struct{ err error }

func (e *ssmConnError) Error() string { return e.err.Error() }
func (e *ssmConnError) Unwrap() error { return e.err }

// ssmHTTPError is an answer that is not a success and not an AWS JSON error either (a gateway's
// page, say). It names the HTTP status only: the body may quote anything.
type ssmHTTPError struct {
	Status    int
	RequestID string
}

func (e *ssmHTTPError) Error() string {
	return fmt.Sprintf("https response error StatusCode: %d, RequestID: %s, the answer is not an AWS error", e.Status, e.RequestID)
}

// ssmAPIError is an error answered by SSM: its HTTP status and, wrapped, the code and message.
type ssmAPIError struct {
	Status    int
	RequestID string
	Err       *smithy.GenericAPIError
}

func (e *ssmAPIError) Error() string {
	return fmt.Sprintf("https response error StatusCode: %d, RequestID: %s, %v", e.Status, e.RequestID, e.Err)
}

func (e *ssmAPIError) Unwrap() error { return e.Err }

// do sends the request once and gives the parameter's value. No error holds the answer's body.
func (c ssmCall) do(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.endpoint, "/")+"/", bytes.NewReader(c.body))
	if err != nil {
		return "", fmt.Errorf("build the request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("retrieve AWS credentials: %w", err)
	}
	hash := sha256.Sum256(c.body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(hash[:]), "ssm", c.cfg.Region, time.Now()); err != nil {
		return "", fmt.Errorf("sign the request: %w", err)
	}

	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", &ssmConnError{err} // *url.Error: names the endpoint, never a credential
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxSSMAnswerBytes))
	if err != nil {
		return "", &ssmConnError{fmt.Errorf("read the answer (HTTP status %d): %w", resp.StatusCode, err)}
	}
	requestID := resp.Header.Get("X-Amzn-Requestid")

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Type    string `json:"__type"`
			Code    string `json:"code"`
			Message string `json:"message"`
			Upper   string `json:"Message"`
		}
		_ = json.Unmarshal(answer, &e)
		code := ssmErrorCode(cmp.Or(resp.Header.Get("X-Amzn-Errortype"), e.Type, e.Code))
		if code == "" {
			return "", &ssmHTTPError{Status: resp.StatusCode, RequestID: requestID}
		}
		return "", &ssmAPIError{Status: resp.StatusCode, RequestID: requestID,
			Err: &smithy.GenericAPIError{Code: code, Message: cmp.Or(e.Message, e.Upper)}}
	}

	var out struct {
		Parameter *struct{ Value *string }
	}
	if err := json.Unmarshal(answer, &out); err != nil {
		// The decoder's message can quote the answer, which holds the value.
		return "", fmt.Errorf("the answer is not JSON (HTTP status %d, RequestID: %s)", resp.StatusCode, requestID)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", errors.New("the parameter has no value")
	}
	return *out.Parameter.Value, nil
}

// ssmErrorCode strips what AWS may put around an error code: a namespace
// ("com.amazonaws.ssm#ParameterNotFound") or a trailing URL ("ParameterNotFound:http://...").
func ssmErrorCode(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// ssmTransient reports whether the SDK's standard retryer would repeat the call: no answer
// (connection errors), HTTP 5xx, throttling and the codes AWS documents as retryable.
func ssmTransient(err error) bool {
	var apiErr *ssmAPIError
	var httpErr *ssmHTTPError
	switch {
	case errors.As(err, &apiErr):
		_, throttled := retry.DefaultThrottleErrorCodes[apiErr.Err.Code]
		_, retryable := retry.DefaultRetryableErrorCodes[apiErr.Err.Code]
		return apiErr.Status >= 500 || throttled || retryable
	case errors.As(err, &httpErr):
		return httpErr.Status >= 500 || httpErr.Status == http.StatusTooManyRequests
	}
	var connErr *ssmConnError
	return errors.As(err, &connErr)
}
