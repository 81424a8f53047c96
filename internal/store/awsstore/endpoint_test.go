package awsstore

import (
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/store"
)

func TestPublicEndpoints(t *testing.T) {
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_SQS", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"} {
		t.Setenv(k, "")
	}
	for _, tc := range []struct {
		svc    service
		region string
		want   string
	}{
		{secretsManager, "us-east-1", "https://secretsmanager.us-east-1.amazonaws.com/"},
		{ssm, "eu-west-3", "https://ssm.eu-west-3.amazonaws.com/"},
		{sqs, "ap-southeast-1", "https://sqs.ap-southeast-1.amazonaws.com/"},
		{secretsManager, "cn-north-1", "https://secretsmanager.cn-north-1.amazonaws.com.cn/"},
		{sqs, "cn-northwest-1", "https://sqs.cn-northwest-1.amazonaws.com.cn/"},
	} {
		c, err := newClient(tc.svc, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.endpoint(tc.region); err != nil || got != tc.want {
			t.Errorf("endpoint(%s, %s) = %q, %v; want %q", tc.svc.signingName, tc.region, got, err, tc.want)
		}
	}
}

func TestConfiguredEndpoints(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		opt  string
		want string
	}{
		{"a path is kept", map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566/prefix/"}, "", "http://localhost:4566/prefix/"},
		{"the option", map[string]string{"AWS_ENDPOINT_URL_SSM": "http://b"}, "http://a", "http://a/"},
		{"ignored when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true",
			map[string]string{"AWS_ENDPOINT_URL_SSM": "http://b", "AWS_ENDPOINT_URL": "http://c", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
			"", "https://ssm.us-east-1.amazonaws.com/"},
		{"the option even then", map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, "http://a", "http://a/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"} {
				t.Setenv(k, tc.env[k])
			}
			var opts []Option
			if tc.opt != "" {
				opts = append(opts, store.WithEndpoint(tc.opt))
			}
			c, err := newClient(ssm, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := c.endpoint("us-east-1"); err != nil || got != tc.want {
				t.Errorf("endpoint = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	a, b := newToken(), newToken()
	if len(a) != 36 || a == b || strings.Count(a, "-") != 4 || a[14] != '4' {
		t.Errorf("tokens %q, %q", a, b)
	}
}
