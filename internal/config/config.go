// Package config reads the function's configuration from ENVSHARE_* environment variables
// with envconfig, and checks it. It is read on the first invocation of an instance, never in
// main or init: the SCF runtime sets the variables inside each invocation.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Prefix of every variable.
const Prefix = "ENVSHARE"

// Config is the whole configuration. Each envconfig tag is the full variable name: with a
// shorter tag, envconfig would also read the unprefixed name (LOG_LEVEL, MANIFEST, ...) and pick
// up variables that belong to something else.
type Config struct {
	WechatBaseURL        string `envconfig:"ENVSHARE_WECHAT_BASE_URL" default:"https://api.weixin.qq.com"`
	TokenMode            string `envconfig:"ENVSHARE_TOKEN_MODE" default:"env"`
	ComponentAccessToken string `envconfig:"ENVSHARE_COMPONENT_ACCESS_TOKEN"`
	TokenFile            string `envconfig:"ENVSHARE_TOKEN_FILE"`
	TokenSecretID        string `envconfig:"ENVSHARE_TOKEN_SECRET_ID"`
	SourceType           int    `envconfig:"ENVSHARE_SOURCE_TYPE" default:"1"`
	HTTPAuth             string `envconfig:"ENVSHARE_HTTP_AUTH"`
	HTTPSecret           string `envconfig:"ENVSHARE_HTTP_SECRET"`
	Manifest             string `envconfig:"ENVSHARE_MANIFEST"`

	// Tencent SSM only: the API endpoint (tests point it at a local fake) and the secret's
	// version (unset: the newest version).
	TencentSSMEndpoint  string `envconfig:"ENVSHARE_TENCENT_SSM_ENDPOINT"`
	TencentSSMVersionID string `envconfig:"ENVSHARE_TENCENT_SSM_VERSION_ID"`

	NotifyURL    string `envconfig:"ENVSHARE_NOTIFY_URL"`
	NotifySecret string `envconfig:"ENVSHARE_NOTIFY_SECRET"` // default: HTTP_SECRET

	ChunkSize      int           `envconfig:"ENVSHARE_CHUNK_SIZE" default:"100"`
	Concurrency    int           `envconfig:"ENVSHARE_CONCURRENCY" default:"8"`
	Attempts       int           `envconfig:"ENVSHARE_ATTEMPTS" default:"3"`
	HTTPTimeout    time.Duration `envconfig:"ENVSHARE_HTTP_TIMEOUT" default:"10s"`
	RateLimit      float64       `envconfig:"ENVSHARE_RATE_LIMIT" default:"50"`
	DeadlineMargin time.Duration `envconfig:"ENVSHARE_DEADLINE_MARGIN" default:"3s"`
	MaxBodyBytes   int64         `envconfig:"ENVSHARE_MAX_BODY_BYTES" default:"1048576"`
	LogLevel       string        `envconfig:"ENVSHARE_LOG_LEVEL" default:"info"`
}

// Variables lists every variable Config reads, in field order.
func Variables() []string {
	t := reflect.TypeFor[Config]()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if name := t.Field(i).Tag.Get("envconfig"); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// Token modes.
var TokenModes = []string{"env", "file", "aws-secretsmanager", "aws-ssm", "tencent-ssm"}

// HTTP auth modes ("" = unset: HTTP routes refused).
var HTTPAuthModes = []string{"hmac", "bearer", "none"}

// Load reads and checks the configuration. Errors name the variable and what it allows,
// and never echo a secret's value.
func Load() (Config, error) {
	var c Config
	// The prefix is part of every tag (see Config), so none is given here.
	if err := envconfig.Process("", &c); err != nil {
		return Config{}, fmt.Errorf("config: %w", redactParseError(err))
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// redactParseError keeps envconfig's variable name and says what it expects, but drops the raw
// value: it may be a secret set on the wrong variable.
func redactParseError(err error) error {
	var pe *envconfig.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: cannot parse the value: must be %s", pe.KeyName, expected(pe.TypeName))
	}
	return err
}

// expected describes, for a person, what a value of the Go type must look like.
func expected(typeName string) string {
	switch typeName {
	case "int", "int64":
		return "an integer"
	case "float64":
		return "a number"
	case "time.Duration":
		return "a duration such as 500ms, 10s or 1m"
	default:
		return "a " + typeName
	}
}

// Validate checks values and their combinations; every problem is listed.
func (c Config) Validate() error {
	var problems []string
	bad := func(name, format string, args ...any) {
		problems = append(problems, Prefix+"_"+name+": "+fmt.Sprintf(format, args...))
	}
	if !isHTTPURL(c.WechatBaseURL) {
		bad("WECHAT_BASE_URL", "must be an http(s) URL")
	}
	if !oneOf(c.TokenMode, TokenModes) {
		bad("TOKEN_MODE", "must be one of %s", strings.Join(TokenModes, ", "))
	}
	switch c.TokenMode {
	case "env":
		if c.ComponentAccessToken == "" {
			bad("COMPONENT_ACCESS_TOKEN", "required when ENVSHARE_TOKEN_MODE is env")
		}
	case "file":
		if c.TokenFile == "" {
			bad("TOKEN_FILE", "required when ENVSHARE_TOKEN_MODE is file")
		}
	case "aws-secretsmanager", "aws-ssm", "tencent-ssm":
		if c.TokenSecretID == "" {
			bad("TOKEN_SECRET_ID", "required when ENVSHARE_TOKEN_MODE is %s", c.TokenMode)
		}
	}
	if c.SourceType < 1 {
		// 0 would mean "unset" to the share service; a request may still send source_type 0.
		bad("SOURCE_TYPE", "must be a positive integer (1 = CloudRun)")
	}
	if c.HTTPAuth != "" && !oneOf(c.HTTPAuth, HTTPAuthModes) {
		bad("HTTP_AUTH", "must be one of %s, or unset", strings.Join(HTTPAuthModes, ", "))
	}
	if (c.HTTPAuth == "hmac" || c.HTTPAuth == "bearer") && c.HTTPSecret == "" {
		bad("HTTP_SECRET", "required when ENVSHARE_HTTP_AUTH is %s", c.HTTPAuth)
	}
	if c.TencentSSMEndpoint != "" && !isHTTPURL(c.TencentSSMEndpoint) {
		bad("TENCENT_SSM_ENDPOINT", "must be an http(s) URL such as https://ssm.tencentcloudapi.com, or unset")
	}
	if c.NotifyURL != "" && !isHTTPURL(c.NotifyURL) {
		bad("NOTIFY_URL", "must be an http(s) URL")
	}
	if c.ChunkSize < 1 || c.ChunkSize > 1000 {
		bad("CHUNK_SIZE", "must be between 1 and 1000")
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		bad("CONCURRENCY", "must be between 1 and 64")
	}
	if c.Attempts < 1 || c.Attempts > 10 {
		bad("ATTEMPTS", "must be between 1 and 10")
	}
	if c.HTTPTimeout <= 0 {
		bad("HTTP_TIMEOUT", "must be a positive duration such as 10s")
	}
	if c.RateLimit < 0 {
		bad("RATE_LIMIT", "must be >= 0 calls per second (0 = unlimited)")
	}
	if c.DeadlineMargin < 0 {
		bad("DEADLINE_MARGIN", "must be a non-negative duration")
	}
	if c.MaxBodyBytes < 1024 {
		bad("MAX_BODY_BYTES", "must be at least 1024")
	}
	if !oneOf(strings.ToLower(c.LogLevel), []string{"debug", "info", "warn", "error"}) {
		bad("LOG_LEVEL", "must be one of debug, info, warn, error")
	}
	if len(problems) > 0 {
		return fmt.Errorf("config: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Secrets lists the secret values of the configuration, for the redactor.
func (c Config) Secrets() []string {
	return []string{c.ComponentAccessToken, c.HTTPSecret, c.NotifySecret}
}

// NotifyKey is the secret that signs notifications: NOTIFY_SECRET, else HTTP_SECRET.
func (c Config) NotifyKey() string {
	if c.NotifySecret != "" {
		return c.NotifySecret
	}
	return c.HTTPSecret
}

// isHTTPURL reports whether s is an absolute http or https URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func oneOf(s string, allowed []string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}
