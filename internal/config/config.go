// Package config reads the function's configuration from ENVSHARE_* environment variables
// with envconfig, and checks it. It is read on the first invocation of an instance, never in
// main or init: the SCF runtime sets the variables inside each invocation.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/page"
	"github.com/envshare/envshare/internal/wxcrypt"
	"github.com/envshare/envshare/pkg/share"
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
	// The HTTP secret before a rotation: only confirmation pages accept it, through the page key
	// derived from it (docs/confirmation-pages.md); HTTP authentication does not.
	HTTPSecretPrevious string `envconfig:"ENVSHARE_HTTP_SECRET_PREVIOUS"`
	Manifest           string `envconfig:"ENVSHARE_MANIFEST"`

	// Tencent SSM only: the API endpoint (tests point it at a local fake) and the secret's
	// version (unset: the newest version).
	TencentSSMEndpoint  string `envconfig:"ENVSHARE_TENCENT_SSM_ENDPOINT"`
	TencentSSMVersionID string `envconfig:"ENVSHARE_TENCENT_SSM_VERSION_ID"`

	NotifyURL    string `envconfig:"ENVSHARE_NOTIFY_URL"`
	NotifySecret string `envconfig:"ENVSHARE_NOTIFY_SECRET"` // default: HTTP_SECRET

	// The token lifecycle with one minter (docs/tokens-and-events.md, Token lifecycle).
	StateID                  string        `envconfig:"ENVSHARE_STATE_ID"`
	RefreshBefore            time.Duration `envconfig:"ENVSHARE_REFRESH_BEFORE" default:"30m"`
	TicketWriteInterval      time.Duration `envconfig:"ENVSHARE_TICKET_WRITE_INTERVAL" default:"1h"`
	TencentSSMStateVersionID string        `envconfig:"ENVSHARE_TENCENT_SSM_STATE_VERSION_ID" default:"v1"`
	StateKMSKeyID            string        `envconfig:"ENVSHARE_STATE_KMS_KEY_ID"`

	// Next to an existing platform backend (docs/tokens-and-events.md, Running next to an
	// existing backend): who mints the token, and where every correctly signed push is
	// forwarded.
	TokenOwner string `envconfig:"ENVSHARE_TOKEN_OWNER" default:"envshare"`
	ForwardURL string `envconfig:"ENVSHARE_FORWARD_URL"`

	// WeChat's authorization events (docs/tokens-and-events.md, Receiving WeChat's events). The
	// COMPONENT_* variables are for mode env; other modes keep these values in the credentials
	// secret.
	ComponentAppID          string `envconfig:"ENVSHARE_COMPONENT_APPID"`
	ComponentToken          string `envconfig:"ENVSHARE_COMPONENT_TOKEN"`
	ComponentAESKey         string `envconfig:"ENVSHARE_COMPONENT_AES_KEY"`
	ComponentAESKeyPrevious string `envconfig:"ENVSHARE_COMPONENT_AES_KEY_PREVIOUS"`
	OnboardEnvs             string `envconfig:"ENVSHARE_ONBOARD_ENVS"`
	Offboard                string `envconfig:"ENVSHARE_OFFBOARD" default:"keep"`
	RetryQueueURL           string `envconfig:"ENVSHARE_RETRY_QUEUE_URL"`

	// Confirmation pages (docs/confirmation-pages.md).
	PublicURL          string        `envconfig:"ENVSHARE_PUBLIC_URL"`
	PageSecret         string        `envconfig:"ENVSHARE_PAGE_SECRET"` // default: derived from HTTP_SECRET
	PageSecretPrevious string        `envconfig:"ENVSHARE_PAGE_SECRET_PREVIOUS"`
	PageTTL            time.Duration `envconfig:"ENVSHARE_PAGE_TTL" default:"168h"`

	// The fleet ledger (docs/customers.md).
	Ledger      string        `envconfig:"ENVSHARE_LEDGER"`
	RelinkAfter time.Duration `envconfig:"ENVSHARE_RELINK_AFTER" default:"72h"`
	BackfillMax int           `envconfig:"ENVSHARE_BACKFILL_MAX" default:"1000"`

	// WeChat's quotas and large fleets (docs/quota.md).
	QuotaReserve string `envconfig:"ENVSHARE_QUOTA_RESERVE" default:"10%"`
	ShardPairs   int    `envconfig:"ENVSHARE_SHARD_PAIRS" default:"20000"`

	ChunkSize      int           `envconfig:"ENVSHARE_CHUNK_SIZE" default:"100"`
	Concurrency    int           `envconfig:"ENVSHARE_CONCURRENCY" default:"8"`
	Attempts       int           `envconfig:"ENVSHARE_ATTEMPTS" default:"3"`
	HTTPTimeout    time.Duration `envconfig:"ENVSHARE_HTTP_TIMEOUT" default:"10s"`
	RateLimit      float64       `envconfig:"ENVSHARE_RATE_LIMIT" default:"50"`
	DeadlineMargin time.Duration `envconfig:"ENVSHARE_DEADLINE_MARGIN" default:"3s"`
	MaxBodyBytes   int64         `envconfig:"ENVSHARE_MAX_BODY_BYTES" default:"1048576"`
	MaxResults     int           `envconfig:"ENVSHARE_MAX_RESULTS" default:"1000"`
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

// ToolVariables are ENVSHARE_* variables of the tests, the Makefile and the operator CLI
// (cmd/envshare), not settings of the function: the Makefile exports them to every process it
// starts, the local function included, so they are never reported as unknown.
var ToolVariables = []string{"ENVSHARE_RIE_BIN", "ENVSHARE_CHROMIUM", "ENVSHARE_URL", "ENVSHARE_FUNCTION", "ENVSHARE_INVOKE"}

// Unknown returns, sorted, the names among environ ("NAME=value" entries, as os.Environ gives
// them) that carry the ENVSHARE_ prefix but are neither a variable Config reads nor one of
// ToolVariables: a misspelt setting, which the function would otherwise ignore silently. The
// deployed function warns of each at cold start; the local tools print them.
func Unknown(environ []string) []string {
	known := append(Variables(), ToolVariables...)
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, Prefix+"_") && !slices.Contains(known, name) && !slices.Contains(unknown, name) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	return unknown
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
	// A secret that can never match (" ", a trailing newline from a copy) fails here, not as
	// a 401 on every request.
	for _, sec := range []struct{ name, value string }{
		{"HTTP_SECRET", c.HTTPSecret}, {"HTTP_SECRET_PREVIOUS", c.HTTPSecretPrevious}, {"NOTIFY_SECRET", c.NotifySecret},
		{"PAGE_SECRET", c.PageSecret}, {"PAGE_SECRET_PREVIOUS", c.PageSecretPrevious},
	} {
		switch {
		case sec.value == "":
		case strings.TrimSpace(sec.value) != sec.value:
			bad(sec.name, "must not begin or end with white space")
		case len(sec.value) < MinSecretLen:
			bad(sec.name, "must be at least %d bytes (use 32 or more random characters)", MinSecretLen)
		}
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
	if c.MaxResults < 1 || c.MaxResults > 10000 {
		bad("MAX_RESULTS", "must be between 1 and 10000")
	}
	if _, err := share.ParseReserve(c.QuotaReserve); err != nil {
		bad("QUOTA_RESERVE", "%v", err)
	}
	if c.ShardPairs < MinShardPairs || c.ShardPairs > share.MaxManifestPairs {
		bad("SHARD_PAIRS", "must be between %d and %d (desired pairs one reconcile runs itself; a larger one is handed out as shards)",
			MinShardPairs, share.MaxManifestPairs)
	}
	c.validateLifecycle(bad)
	c.validateBackend(bad)
	c.validateEvents(bad)
	c.validateLedger(bad)
	if c.PublicURL != "" && page.CheckPublicURL(c.PublicURL) != nil {
		bad("PUBLIC_URL", "must be the deployment's http(s) base URL, stage included, without query, fragment or user info")
	}
	if c.PageTTL < time.Second || c.PageTTL > page.MaxTTL {
		bad("PAGE_TTL", "must be a positive duration from 1s to %s (30 days, the longest page lifetime), such as 168h", hours(page.MaxTTL))
	}
	if !oneOf(strings.ToLower(c.LogLevel), []string{"debug", "info", "warn", "error"}) {
		bad("LOG_LEVEL", "must be one of debug, info, warn, error")
	}
	if len(problems) > 0 {
		return fmt.Errorf("config: %s", strings.Join(problems, "; "))
	}
	return nil
}

// MinShardPairs bounds ENVSHARE_SHARD_PAIRS from below: smaller shards cost more invocations
// and partial calls than they save.
const MinShardPairs = 100

// Reserve is ENVSHARE_QUOTA_RESERVE, parsed (Validate checked it).
func (c Config) Reserve() share.Reserve {
	r, _ := share.ParseReserve(c.QuotaReserve)
	return r
}

// MinSecretLen is the shortest HTTP, notification or page secret accepted.
const MinSecretLen = 16

// validateLifecycle checks the state record's settings.
func (c Config) validateLifecycle(bad func(name, format string, args ...any)) {
	if c.StateID != "" && c.TokenMode == "env" {
		bad("STATE_ID", "not allowed with ENVSHARE_TOKEN_MODE=env: the state record lives in the credentials' store")
	}
	if c.RefreshBefore < time.Minute || c.RefreshBefore > 100*time.Minute {
		bad("REFRESH_BEFORE", "must be between 1m and 100m (a token lives 2 hours; the schedule runs every 20 minutes)")
	}
	if c.TicketWriteInterval < 0 || c.TicketWriteInterval > 11*time.Hour {
		bad("TICKET_WRITE_INTERVAL", "must be between 0s and 11h (a ticket lives 12 hours; 0s stores every newer ticket)")
	}
	if c.StateKMSKeyID != "" && c.TokenMode != "aws-ssm" {
		bad("STATE_KMS_KEY_ID", "only used with ENVSHARE_TOKEN_MODE=aws-ssm")
	}
}

// Token owners (ENVSHARE_TOKEN_OWNER).
const (
	OwnerEnvshare = "envshare" // envshare mints (with a state record, its refresh is the one minter)
	OwnerExternal = "external" // the platform's backend writes the token; envshare only reads it
)

// validateBackend checks the settings of running next to an existing backend.
func (c Config) validateBackend(bad func(name, format string, args ...any)) {
	switch c.TokenOwner {
	case OwnerEnvshare:
	case OwnerExternal:
		if c.TokenMode == "env" {
			bad("TOKEN_OWNER", "external needs a record the backend writes the token into: ENVSHARE_TOKEN_MODE file or a secret store, not env")
		}
	default:
		bad("TOKEN_OWNER", "must be envshare (envshare mints the token) or external (the platform's backend writes it)")
	}
	if c.ForwardURL != "" && !isPlainHTTPURL(c.ForwardURL) {
		bad("FORWARD_URL", "must be the backend's http(s) URL, without query, fragment or user info (each push's own query is added)")
	}
}

// External reports whether the platform's backend owns the token (ENVSHARE_TOKEN_OWNER=external).
func (c Config) External() bool { return c.TokenOwner == OwnerExternal }

// validateEvents checks the settings of WeChat's authorization events.
func (c Config) validateEvents(bad func(name, format string, args ...any)) {
	component := []struct{ name, value string }{
		{"COMPONENT_APPID", c.ComponentAppID}, {"COMPONENT_TOKEN", c.ComponentToken},
		{"COMPONENT_AES_KEY", c.ComponentAESKey}, {"COMPONENT_AES_KEY_PREVIOUS", c.ComponentAESKeyPrevious},
	}
	for _, v := range component {
		if v.value != "" && c.TokenMode != "env" {
			bad(v.name, "only used with ENVSHARE_TOKEN_MODE=env: put %s in the credentials secret", strings.ToLower(v.name))
		}
	}
	if c.ComponentAppID != "" && !share.ValidAppID(c.ComponentAppID) {
		bad("COMPONENT_APPID", "must be the third-party platform's appid (wx followed by 16 lowercase hex digits)")
	}
	for _, k := range []struct{ name, value string }{{"COMPONENT_AES_KEY", c.ComponentAESKey}, {"COMPONENT_AES_KEY_PREVIOUS", c.ComponentAESKeyPrevious}} {
		if k.value == "" {
			continue
		}
		if problem := wxcrypt.KeyProblem(k.value); problem != "" {
			bad(k.name, "%s", problem)
		}
	}
	if c.ComponentToken != "" {
		if problem := wxcrypt.TokenProblem(c.ComponentToken); problem != "" {
			bad("COMPONENT_TOKEN", "%s", problem)
		}
	}
	for i, env := range c.OnboardEnvList() {
		if !share.ValidEnv(env) {
			bad("ONBOARD_ENVS", "item %d is not an env id (1-64 lowercase letters, digits and hyphens; comma-separated)", i+1)
		}
	}
	if c.Offboard != "keep" && c.Offboard != "unshare" {
		bad("OFFBOARD", "must be keep or unshare")
	}
	if c.RetryQueueURL != "" && !isHTTPURL(c.RetryQueueURL) {
		bad("RETRY_QUEUE_URL", "must be the https URL of an SQS queue")
	}
}

// MaxBackfill bounds ENVSHARE_BACKFILL_MAX: info calls a backfill makes in one run.
const MaxBackfill = 100_000

// validateLedger checks the fleet ledger's settings. The value's syntax is checked here; that
// this binary links the engine and that the database answers, when the instance is wired.
func (c Config) validateLedger(bad func(name, format string, args ...any)) {
	if c.Ledger != "" {
		spec, err := ledger.ParseSpec(c.Ledger)
		switch {
		case err != nil:
			bad("LEDGER", "%s", strings.TrimPrefix(err.Error(), ledger.Variable+": "))
		case spec.FromSecret() && c.TokenMode == "env":
			bad("LEDGER", "mysql alone reads ledger_dsn from the credentials secret, which ENVSHARE_TOKEN_MODE=env has not: use mysql:DSN, or a secret")
		}
	}
	if c.RelinkAfter < time.Minute {
		bad("RELINK_AFTER", "must be a duration of at least 1m, such as 72h (how long a confirmation link may wait before a reconcile sends a new one)")
	}
	if c.BackfillMax < 0 || c.BackfillMax > MaxBackfill {
		bad("BACKFILL_MAX", "must be between 0 and %d (authorizer info calls a backfill makes per run)", MaxBackfill)
	}
}

// OnboardEnvList splits ENVSHARE_ONBOARD_ENVS.
func (c Config) OnboardEnvList() []string {
	var envs []string
	for _, e := range strings.Split(c.OnboardEnvs, ",") {
		if e = strings.TrimSpace(e); e != "" {
			envs = append(envs, e)
		}
	}
	return envs
}

// Secrets lists the secret values of the configuration, for the redactor: a DSN in
// ENVSHARE_LEDGER (mysql:DSN) and its password among them.
func (c Config) Secrets() []string {
	return append([]string{c.ComponentAccessToken, c.HTTPSecret, c.HTTPSecretPrevious, c.NotifySecret, c.PageSecret, c.PageSecretPrevious,
		c.ComponentToken, c.ComponentAESKey, c.ComponentAESKeyPrevious}, ledger.Secrets(c.Ledger)...)
}

// SecretVariables names the variables whose values Secrets lists, for tools that print or check
// a configuration: each string field is set to its own variable name, so Secrets returns names
// and stays the one list.
func SecretVariables() []string {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.String {
			f.SetString(v.Type().Field(i).Tag.Get("envconfig"))
		}
	}
	return c.Secrets()
}

// NotifyKey is the secret that signs notifications: NOTIFY_SECRET, else HTTP_SECRET.
func (c Config) NotifyKey() string {
	if c.NotifySecret != "" {
		return c.NotifySecret
	}
	return c.HTTPSecret
}

// hours writes d in hours, as a person sets it (720h).
func hours(d time.Duration) string { return fmt.Sprintf("%dh", d/time.Hour) }

// isPlainHTTPURL reports whether s is an absolute http(s) URL with a host and nothing after
// its path.
func isPlainHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && isHTTPURL(s) && u.User == nil && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" &&
		!strings.Contains(s, "#")
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
