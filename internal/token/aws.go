package token

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// awsSession resolves the AWS SDK configuration on first use, so its cost (environment, shared
// files, credential chain) is paid only by an instance that needs it. LoadDefaultConfig honours
// AWS_REGION, the credential variables and AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SECRETS_MANAGER
// and AWS_ENDPOINT_URL_SSM (the latter resolved in ssm.go).
type awsSession struct {
	opts     options
	attempts int

	mu  sync.Mutex
	cfg *aws.Config
}

func newAWSSession(o options, attempts int) *awsSession {
	return &awsSession{opts: o, attempts: attempts}
}

func (a *awsSession) config(ctx context.Context) (aws.Config, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg != nil {
		return *a.cfg, nil
	}

	var load []func(*awsconfig.LoadOptions) error
	if a.opts.httpClient != nil {
		load = append(load, awsconfig.WithHTTPClient(a.opts.httpClient))
	}
	if backoff := a.opts.backoff; backoff != nil {
		load = append(load, awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = a.attempts
				o.Backoff = retry.BackoffDelayerFunc(func(n int, _ error) (time.Duration, error) {
					return backoff(n), nil
				})
			})
		}))
	} else {
		load = append(load, awsconfig.WithRetryMaxAttempts(a.attempts))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load the AWS configuration: %w", err)
	}
	if cfg.HTTPClient == nil {
		// The SDK's own default, built once so the SSM call (ssm.go) reuses its connections.
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("%w: AWS_REGION is not set (Lambda sets it)", ErrMissingCredentials)
	}
	if cfg.Credentials == nil {
		return aws.Config{}, fmt.Errorf("%w: no AWS credential provider", ErrMissingCredentials)
	}
	// Retrieve now, so a missing credential is named here rather than buried in a signing error.
	// The result is cached by the SDK and reused by the first call.
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return aws.Config{}, fmt.Errorf("%w: no AWS credentials found%s: %v",
			ErrMissingCredentials, unsetVars("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), err)
	}
	a.cfg = &cfg
	return cfg, nil
}

// secretsManagerLoader reads SecretString (or SecretBinary) of the secret's AWSCURRENT version.
type secretsManagerLoader struct {
	session *awsSession
	id      string

	mu     sync.Mutex
	client *secretsmanager.Client
}

func (l *secretsManagerLoader) Load(ctx context.Context) (string, error) {
	client, err := l.getClient(ctx)
	if err != nil {
		return "", err
	}
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(l.id)})
	if err != nil {
		return "", err // "operation error Secrets Manager: GetSecretValue, ..."
	}
	switch {
	case out.SecretString != nil:
		return *out.SecretString, nil
	case out.SecretBinary != nil:
		return string(out.SecretBinary), nil
	}
	return "", errors.New("GetSecretValue: the secret version has no value")
}

func (l *secretsManagerLoader) getClient(ctx context.Context) (*secretsmanager.Client, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client != nil {
		return l.client, nil
	}
	cfg, err := l.session.config(ctx)
	if err != nil {
		return nil, err
	}
	l.client = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if e := l.session.opts.awsEndpoint; e != "" {
			o.BaseEndpoint = aws.String(e)
		}
	})
	return l.client, nil
}

// unsetVars names the variables among names that are unset, as " (A and B not set)".
func unsetVars(names ...string) string {
	var unset []string
	for _, n := range names {
		if os.Getenv(n) == "" {
			unset = append(unset, n)
		}
	}
	if len(unset) == 0 {
		return ""
	}
	return " (" + strings.Join(unset, " and ") + " not set)"
}
