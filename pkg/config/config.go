// Package config reads the function's configuration from ENVSHARE_* environment variables
// with envconfig, and checks it. It is read on the first invocation of an instance, never in
// main or init: the SCF runtime sets the variables inside each invocation.
package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Prefix of every variable.
const Prefix = "ENVSHARE"

// Config is the whole configuration. The envconfig tag is the variable name without prefix.
type Config struct {
	WechatBaseURL        string `envconfig:"WECHAT_BASE_URL" default:"https://api.weixin.qq.com"`
	TokenMode            string `envconfig:"TOKEN_MODE" default:"env"`
	ComponentAccessToken string `envconfig:"COMPONENT_ACCESS_TOKEN"`
	TokenFile            string `envconfig:"TOKEN_FILE"`
	TokenSecretID        string `envconfig:"TOKEN_SECRET_ID"`
	SourceType           int    `envconfig:"SOURCE_TYPE" default:"1"`
	HTTPAuth             string `envconfig:"HTTP_AUTH"`
	HTTPSecret           string `envconfig:"HTTP_SECRET"`
	Manifest             string `envconfig:"MANIFEST"`

	NotifyURL    string `envconfig:"NOTIFY_URL"`
	NotifySecret string `envconfig:"NOTIFY_SECRET"` // default: HTTP_SECRET

	ChunkSize      int           `envconfig:"CHUNK_SIZE" default:"100"`
	Concurrency    int           `envconfig:"CONCURRENCY" default:"8"`
	Attempts       int           `envconfig:"ATTEMPTS" default:"3"`
	HTTPTimeout    time.Duration `envconfig:"HTTP_TIMEOUT" default:"10s"`
	RateLimit      float64       `envconfig:"RATE_LIMIT" default:"50"`
	DeadlineMargin time.Duration `envconfig:"DEADLINE_MARGIN" default:"3s"`
	MaxBodyBytes   int64         `envconfig:"MAX_BODY_BYTES" default:"1048576"`
	LogLevel       string        `envconfig:"LOG_LEVEL" default:"info"`
}

// Token modes.
var TokenModes = []string{"env", "file", "aws-secretsmanager", "aws-ssm", "tencent-ssm"}

// HTTP auth modes ("" = unset: HTTP routes refused).
var HTTPAuthModes = []string{"hmac", "bearer", "none"}

// Load reads and checks the configuration. Errors name the variable and what it allows,
// and never echo a secret's value.
func Load() (Config, error) {
	var c Config
	if err := envconfig.Process(Prefix, &c); err != nil {
		return Config{}, fmt.Errorf("config: %w", redactParseError(err))
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// redactParseError keeps envconfig's variable name and type but drops the raw value.
func redactParseError(err error) error {
	var pe *envconfig.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: cannot parse value as %s", pe.KeyName, pe.TypeName)
	}
	return err
}

// Validate checks values and their combinations; every problem is listed.
func (c Config) Validate() error {
	var problems []string
	bad := func(name, format string, args ...any) {
		problems = append(problems, Prefix+"_"+name+": "+fmt.Sprintf(format, args...))
	}
	if !strings.HasPrefix(c.WechatBaseURL, "http://") && !strings.HasPrefix(c.WechatBaseURL, "https://") {
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
	if c.SourceType < 0 {
		bad("SOURCE_TYPE", "must be a non-negative integer")
	}
	if c.HTTPAuth != "" && !oneOf(c.HTTPAuth, HTTPAuthModes) {
		bad("HTTP_AUTH", "must be one of %s, or unset", strings.Join(HTTPAuthModes, ", "))
	}
	if (c.HTTPAuth == "hmac" || c.HTTPAuth == "bearer") && c.HTTPSecret == "" {
		bad("HTTP_SECRET", "required when ENVSHARE_HTTP_AUTH is %s", c.HTTPAuth)
	}
	if c.NotifyURL != "" && !strings.HasPrefix(c.NotifyURL, "http://") && !strings.HasPrefix(c.NotifyURL, "https://") {
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

// NotifyKey is the secret that signs notifications: NOTIFY_SECRET, else HTTP_SECRET.
func (c Config) NotifyKey() string {
	if c.NotifySecret != "" {
		return c.NotifySecret
	}
	return c.HTTPSecret
}

func oneOf(s string, allowed []string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}
