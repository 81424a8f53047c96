package config

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// clearEnv unsets every ENVSHARE_* variable for the test (t.Setenv restores them afterwards),
// so the developer's own environment cannot change the outcome.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, Prefix+"_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func TestLoad(t *testing.T) {
	t.Run("unset variables take their documented defaults", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("ENVSHARE_COMPONENT_ACCESS_TOKEN", "tok")

		got, err := Load()
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		want := Config{
			WechatBaseURL:            "https://api.weixin.qq.com",
			TokenMode:                "env",
			ComponentAccessToken:     "tok",
			SourceType:               1,
			ChunkSize:                100,
			Concurrency:              8,
			Attempts:                 3,
			HTTPTimeout:              10 * time.Second,
			RateLimit:                50,
			DeadlineMargin:           3 * time.Second,
			MaxBodyBytes:             1 << 20,
			MaxResults:               1000,
			LogLevel:                 "info",
			RefreshBefore:            30 * time.Minute,
			TicketWriteInterval:      time.Hour,
			TencentSSMStateVersionID: "v1",
			TokenOwner:               "envshare",
			Offboard:                 "keep",
			PageTTL:                  168 * time.Hour,
			RelinkAfter:              72 * time.Hour,
			BackfillMax:              1000,
			QuotaReserve:             "10%",
			ShardPairs:               20000,
		}
		if got != want {
			t.Errorf("Load() =\n%+v\nwant\n%+v", got, want)
		}
	})

	t.Run("set variables override the defaults", func(t *testing.T) {
		clearEnv(t)
		setEnv(t, map[string]string{
			"ENVSHARE_WECHAT_BASE_URL":        "http://127.0.0.1:9000",
			"ENVSHARE_TOKEN_MODE":             "tencent-ssm",
			"ENVSHARE_TOKEN_SECRET_ID":        "envshare-token",
			"ENVSHARE_TENCENT_SSM_ENDPOINT":   "http://127.0.0.1:9001",
			"ENVSHARE_TENCENT_SSM_VERSION_ID": "v2",
			"ENVSHARE_SOURCE_TYPE":            "2",
			"ENVSHARE_HTTP_AUTH":              "hmac",
			"ENVSHARE_HTTP_SECRET":            "s3cret-of-16-bytes",
			"ENVSHARE_CHUNK_SIZE":             "10",
			"ENVSHARE_HTTP_TIMEOUT":           "1500ms",
			"ENVSHARE_RATE_LIMIT":             "0",
			"ENVSHARE_LOG_LEVEL":              "DEBUG",
		})

		got, err := Load()
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if got.TokenMode != "tencent-ssm" || got.TokenSecretID != "envshare-token" ||
			got.TencentSSMEndpoint != "http://127.0.0.1:9001" || got.TencentSSMVersionID != "v2" ||
			got.SourceType != 2 || got.HTTPAuth != "hmac" || got.ChunkSize != 10 ||
			got.HTTPTimeout != 1500*time.Millisecond || got.RateLimit != 0 || got.LogLevel != "DEBUG" {
			t.Errorf("Load() = %+v", got)
		}
	})

	t.Run("unprefixed names that belong to other software are ignored", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("ENVSHARE_COMPONENT_ACCESS_TOKEN", "tok")
		setEnv(t, map[string]string{"LOG_LEVEL": "verbose", "MANIFEST": "other.json", "CHUNK_SIZE": "x", "HTTP_SECRET": "y"})

		got, err := Load()
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if got.LogLevel != "info" || got.Manifest != "" || got.ChunkSize != 100 || got.HTTPSecret != "" {
			t.Errorf("Load() read unprefixed variables: %+v", got)
		}
	})
}

func TestLoadRejectsBadValues(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // substrings of the error: the variable and what it allows
	}{
		{"an unknown token mode lists the modes", map[string]string{"ENVSHARE_TOKEN_MODE": "vault"},
			[]string{"ENVSHARE_TOKEN_MODE", "env, file, aws-secretsmanager, aws-ssm, tencent-ssm"}},
		{"mode env needs the token", map[string]string{"ENVSHARE_COMPONENT_ACCESS_TOKEN": ""},
			[]string{"ENVSHARE_COMPONENT_ACCESS_TOKEN", "required when ENVSHARE_TOKEN_MODE is env"}},
		{"mode file needs the file", map[string]string{"ENVSHARE_TOKEN_MODE": "file"},
			[]string{"ENVSHARE_TOKEN_FILE", "required"}},
		{"mode aws-secretsmanager needs the secret id", map[string]string{"ENVSHARE_TOKEN_MODE": "aws-secretsmanager"},
			[]string{"ENVSHARE_TOKEN_SECRET_ID", "required when ENVSHARE_TOKEN_MODE is aws-secretsmanager"}},
		{"mode aws-ssm needs the parameter name", map[string]string{"ENVSHARE_TOKEN_MODE": "aws-ssm"},
			[]string{"ENVSHARE_TOKEN_SECRET_ID", "aws-ssm"}},
		{"mode tencent-ssm needs the secret name", map[string]string{"ENVSHARE_TOKEN_MODE": "tencent-ssm"},
			[]string{"ENVSHARE_TOKEN_SECRET_ID", "tencent-ssm"}},
		{"a base URL without scheme", map[string]string{"ENVSHARE_WECHAT_BASE_URL": "api.weixin.qq.com"},
			[]string{"ENVSHARE_WECHAT_BASE_URL", "http(s) URL"}},
		{"an unknown HTTP auth lists the modes", map[string]string{"ENVSHARE_HTTP_AUTH": "basic"},
			[]string{"ENVSHARE_HTTP_AUTH", "hmac, bearer, none, or unset"}},
		{"hmac needs a secret", map[string]string{"ENVSHARE_HTTP_AUTH": "hmac"},
			[]string{"ENVSHARE_HTTP_SECRET", "required when ENVSHARE_HTTP_AUTH is hmac"}},
		{"bearer needs a secret", map[string]string{"ENVSHARE_HTTP_AUTH": "bearer"},
			[]string{"ENVSHARE_HTTP_SECRET", "bearer"}},
		{"a negative source type", map[string]string{"ENVSHARE_SOURCE_TYPE": "-1"},
			[]string{"ENVSHARE_SOURCE_TYPE", "positive integer"}},
		{"a zero source type", map[string]string{"ENVSHARE_SOURCE_TYPE": "0"},
			[]string{"ENVSHARE_SOURCE_TYPE", "positive integer"}},
		{"a source type that is not a number", map[string]string{"ENVSHARE_SOURCE_TYPE": "cloudrun"},
			[]string{"ENVSHARE_SOURCE_TYPE", "an integer"}},
		{"a Tencent endpoint without scheme", map[string]string{"ENVSHARE_TENCENT_SSM_ENDPOINT": "ssm.tencentcloudapi.com"},
			[]string{"ENVSHARE_TENCENT_SSM_ENDPOINT", "http(s) URL"}},
		{"a notify URL without scheme", map[string]string{"ENVSHARE_NOTIFY_URL": "hooks.example.com/x"},
			[]string{"ENVSHARE_NOTIFY_URL", "http(s) URL"}},
		{"a chunk size of zero", map[string]string{"ENVSHARE_CHUNK_SIZE": "0"},
			[]string{"ENVSHARE_CHUNK_SIZE", "between 1 and 1000"}},
		{"a chunk size that is not a number", map[string]string{"ENVSHARE_CHUNK_SIZE": "abc"},
			[]string{"ENVSHARE_CHUNK_SIZE", "an integer"}},
		{"too much concurrency", map[string]string{"ENVSHARE_CONCURRENCY": "65"},
			[]string{"ENVSHARE_CONCURRENCY", "between 1 and 64"}},
		{"zero attempts", map[string]string{"ENVSHARE_ATTEMPTS": "0"},
			[]string{"ENVSHARE_ATTEMPTS", "between 1 and 10"}},
		{"a timeout without unit", map[string]string{"ENVSHARE_HTTP_TIMEOUT": "10"},
			[]string{"ENVSHARE_HTTP_TIMEOUT", "a duration such as"}},
		{"a zero timeout", map[string]string{"ENVSHARE_HTTP_TIMEOUT": "0s"},
			[]string{"ENVSHARE_HTTP_TIMEOUT", "positive duration"}},
		{"a negative rate limit", map[string]string{"ENVSHARE_RATE_LIMIT": "-1"},
			[]string{"ENVSHARE_RATE_LIMIT", ">= 0"}},
		{"a rate limit that is not a number", map[string]string{"ENVSHARE_RATE_LIMIT": "fast"},
			[]string{"ENVSHARE_RATE_LIMIT", "a number"}},
		{"a negative deadline margin", map[string]string{"ENVSHARE_DEADLINE_MARGIN": "-1s"},
			[]string{"ENVSHARE_DEADLINE_MARGIN", "non-negative duration"}},
		{"a tiny body limit", map[string]string{"ENVSHARE_MAX_BODY_BYTES": "10"},
			[]string{"ENVSHARE_MAX_BODY_BYTES", "at least 1024"}},
		{"an unknown log level lists the levels", map[string]string{"ENVSHARE_LOG_LEVEL": "trace"},
			[]string{"ENVSHARE_LOG_LEVEL", "debug, info, warn, error"}},
		{"an HTTP secret of one space can never match", map[string]string{"ENVSHARE_HTTP_AUTH": "bearer", "ENVSHARE_HTTP_SECRET": " "},
			[]string{"ENVSHARE_HTTP_SECRET", "white space"}},
		{"an HTTP secret with a trailing space can never match", map[string]string{"ENVSHARE_HTTP_AUTH": "hmac", "ENVSHARE_HTTP_SECRET": "a-long-enough-secret "},
			[]string{"ENVSHARE_HTTP_SECRET", "white space"}},
		{"a short HTTP secret", map[string]string{"ENVSHARE_HTTP_AUTH": "hmac", "ENVSHARE_HTTP_SECRET": "15-bytes-secret"},
			[]string{"ENVSHARE_HTTP_SECRET", "at least 16 bytes"}},
		{"a short notify secret", map[string]string{"ENVSHARE_NOTIFY_SECRET": "short"},
			[]string{"ENVSHARE_NOTIFY_SECRET", "at least 16 bytes"}},
		{"a notify secret with a leading newline", map[string]string{"ENVSHARE_NOTIFY_SECRET": "\nnotify-secret-of-20-bytes"},
			[]string{"ENVSHARE_NOTIFY_SECRET", "white space"}},
		{"a page secret with a trailing newline", map[string]string{"ENVSHARE_PAGE_SECRET": "page-secret-of-20-bytes\n"},
			[]string{"ENVSHARE_PAGE_SECRET", "white space"}},
		{"a state record with mode env", map[string]string{"ENVSHARE_STATE_ID": "envshare-state"},
			[]string{"ENVSHARE_STATE_ID", "not allowed with ENVSHARE_TOKEN_MODE=env"}},
		{"a refresh margin past the token's life", map[string]string{"ENVSHARE_REFRESH_BEFORE": "3h"},
			[]string{"ENVSHARE_REFRESH_BEFORE", "between 1m and 100m"}},
		{"a ticket interval past the ticket's life", map[string]string{"ENVSHARE_TICKET_WRITE_INTERVAL": "12h"},
			[]string{"ENVSHARE_TICKET_WRITE_INTERVAL", "between 0s and 11h"}},
		{"component variables outside mode env", map[string]string{"ENVSHARE_TOKEN_MODE": "file", "ENVSHARE_TOKEN_FILE": "t",
			"ENVSHARE_COMPONENT_TOKEN": "msgtoken"}, []string{"ENVSHARE_COMPONENT_TOKEN", "credentials secret"}},
		{"a component appid that is none", map[string]string{"ENVSHARE_COMPONENT_APPID": "wxABC"},
			[]string{"ENVSHARE_COMPONENT_APPID", "wx followed by 16"}},
		{"an AES key of the wrong length", map[string]string{"ENVSHARE_COMPONENT_AES_KEY": "short"},
			[]string{"ENVSHARE_COMPONENT_AES_KEY", "43-character"}},
		{"an onboard env that is none", map[string]string{"ENVSHARE_ONBOARD_ENVS": "prod-1,Bad_Env"},
			[]string{"ENVSHARE_ONBOARD_ENVS", "item 2"}},
		{"an unknown offboard", map[string]string{"ENVSHARE_OFFBOARD": "delete"},
			[]string{"ENVSHARE_OFFBOARD", "keep or unshare"}},
		{"a public URL without scheme", map[string]string{"ENVSHARE_PUBLIC_URL": "abc.execute-api.amazonaws.com"},
			[]string{"ENVSHARE_PUBLIC_URL", "http(s)"}},
		{"a zero page TTL", map[string]string{"ENVSHARE_PAGE_TTL": "0s"},
			[]string{"ENVSHARE_PAGE_TTL", "positive duration"}},
		{"too many results", map[string]string{"ENVSHARE_MAX_RESULTS": "20000"},
			[]string{"ENVSHARE_MAX_RESULTS", "between 1 and 10000"}},
		{"a reserve in words", map[string]string{"ENVSHARE_QUOTA_RESERVE": "a tenth"},
			[]string{"ENVSHARE_QUOTA_RESERVE", "number of calls", "percentage"}},
		{"a reserve over 100%", map[string]string{"ENVSHARE_QUOTA_RESERVE": "120%"},
			[]string{"ENVSHARE_QUOTA_RESERVE", "from 0 to 100"}},
		{"shards of ten pairs", map[string]string{"ENVSHARE_SHARD_PAIRS": "10"},
			[]string{"ENVSHARE_SHARD_PAIRS", "between 100 and 200000"}},
		{"an unknown ledger scheme lists the schemes", map[string]string{"ENVSHARE_LEDGER": "postgres:db"},
			[]string{"ENVSHARE_LEDGER", `unknown scheme "postgres"`, "sqlite:PATH, dynamodb:TABLE, mysql"}},
		{"a ledger without a scheme", map[string]string{"ENVSHARE_LEDGER": "envshare.db"},
			[]string{"ENVSHARE_LEDGER", "known scheme"}},
		{"a DynamoDB ledger without a table", map[string]string{"ENVSHARE_LEDGER": "dynamodb:"},
			[]string{"ENVSHARE_LEDGER", "dynamodb:TABLE"}},
		{"mysql alone in mode env, which has no secret", map[string]string{"ENVSHARE_LEDGER": "mysql"},
			[]string{"ENVSHARE_LEDGER", "ledger_dsn", "mysql:DSN"}},
		{"a relink window of seconds", map[string]string{"ENVSHARE_RELINK_AFTER": "30s"},
			[]string{"ENVSHARE_RELINK_AFTER", "at least 1m"}},
		{"a relink window without unit", map[string]string{"ENVSHARE_RELINK_AFTER": "72"},
			[]string{"ENVSHARE_RELINK_AFTER", "a duration"}},
		{"a negative backfill limit", map[string]string{"ENVSHARE_BACKFILL_MAX": "-1"},
			[]string{"ENVSHARE_BACKFILL_MAX", "between 0 and 100000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tt.env { // "\\n" in the table stands for a newline
				env[k] = strings.ReplaceAll(v, "\\n", "\n")
			}
			loadFails(t, env, tt.want)
		})
	}
}

func TestLoadErrorsNeverEchoSecrets(t *testing.T) {
	const secret = "SENTINEL-8d1f2c"
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"secrets beside many bad values", map[string]string{
			"ENVSHARE_COMPONENT_ACCESS_TOKEN": secret,
			"ENVSHARE_HTTP_SECRET":            secret + "-of-enough-length",
			"ENVSHARE_NOTIFY_SECRET":          secret,
			"ENVSHARE_TOKEN_MODE":             "vault",
			"ENVSHARE_HTTP_AUTH":              "basic",
			"ENVSHARE_CHUNK_SIZE":             "0",
			"ENVSHARE_LOG_LEVEL":              "trace",
		}},
		{"a secret pasted into a number variable", map[string]string{"ENVSHARE_CHUNK_SIZE": secret}},
		{"a secret pasted into a duration variable", map[string]string{"ENVSHARE_HTTP_TIMEOUT": secret}},
		{"a secret pasted into the token mode", map[string]string{"ENVSHARE_TOKEN_MODE": secret}},
		{"a secret pasted into a URL variable", map[string]string{"ENVSHARE_WECHAT_BASE_URL": secret}},
		{"a DSN in the ledger variable with a bad value beside it", map[string]string{
			"ENVSHARE_LEDGER": "envshare:" + secret + "@tcp(db:3306)/envshare", "ENVSHARE_CHUNK_SIZE": "0"}},
		{"a DSN without its scheme", map[string]string{"ENVSHARE_LEDGER": "envshare:" + secret + "@tcp(db:3306)/envshare"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			setEnv(t, tt.env)

			_, err := Load()
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error echoes a secret: %q", err)
			}
		})
	}
}

func TestSecretsHoldTheLedgersDSNAndPassword(t *testing.T) {
	c := Config{Ledger: "mysql:envshare:pa:ss@word@tcp(db:3306)/envshare"}
	got := c.Secrets()
	for _, want := range []string{"envshare:pa:ss@word@tcp(db:3306)/envshare", "pa:ss@word"} {
		if !slices.Contains(got, want) {
			t.Errorf("Secrets() = %q, want %q among them", got, want)
		}
	}
	if s := (Config{Ledger: "sqlite:/tmp/envshare.db"}).Secrets(); slices.ContainsFunc(s, func(v string) bool { return strings.Contains(v, "envshare.db") }) {
		t.Errorf("a path is no secret: %q", s)
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	c := Config{WechatBaseURL: "x", TokenMode: "env", ChunkSize: 0, Concurrency: 0, Attempts: 0,
		HTTPTimeout: 0, MaxBodyBytes: 0, LogLevel: "x"}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate succeeded, want an error")
	}
	for _, name := range []string{"WECHAT_BASE_URL", "COMPONENT_ACCESS_TOKEN", "CHUNK_SIZE", "CONCURRENCY",
		"ATTEMPTS", "HTTP_TIMEOUT", "MAX_BODY_BYTES", "LOG_LEVEL"} {
		if !strings.Contains(err.Error(), "ENVSHARE_"+name) {
			t.Errorf("error %q does not name ENVSHARE_%s", err, name)
		}
	}
}

func TestNotifyKey(t *testing.T) {
	t.Run("the notify secret wins when set", func(t *testing.T) {
		if got := (Config{HTTPSecret: "h", NotifySecret: "n"}).NotifyKey(); got != "n" {
			t.Errorf("NotifyKey() = %q, want n", got)
		}
	})
	t.Run("the HTTP secret is the fallback", func(t *testing.T) {
		if got := (Config{HTTPSecret: "h"}).NotifyKey(); got != "h" {
			t.Errorf("NotifyKey() = %q, want h", got)
		}
	})
}

func TestVariables(t *testing.T) {
	vars := Variables()
	if len(vars) == 0 {
		t.Fatal("Variables() is empty")
	}
	seen := map[string]bool{}
	for _, v := range vars {
		if !regexp.MustCompile(`^ENVSHARE_[A-Z0-9_]+$`).MatchString(v) {
			t.Errorf("variable %q is not an ENVSHARE_ name", v)
		}
		if seen[v] {
			t.Errorf("variable %q listed twice", v)
		}
		seen[v] = true
	}
	for _, v := range []string{"ENVSHARE_TOKEN_MODE", "ENVSHARE_HTTP_SECRET", "ENVSHARE_TENCENT_SSM_ENDPOINT"} {
		if !seen[v] {
			t.Errorf("Variables() lacks %s", v)
		}
	}
}

// TestTheConfigurationPageDocumentsEveryVariable keeps docs/configuration.md's table and Config
// in step: every variable Config reads has a row, and every ENVSHARE_* row is a variable Config
// reads.
func TestTheConfigurationPageDocumentsEveryVariable(t *testing.T) {
	path := filepath.Join(repoRoot(t), "docs", "configuration.md")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open the configuration page: %v", err)
	}
	defer f.Close()

	row := regexp.MustCompile("^\\|\\s*`(ENVSHARE_[A-Z0-9_]+)`\\s*\\|")
	documented := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := row.FindStringSubmatch(sc.Text()); m != nil {
			documented[m[1]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read the configuration page: %v", err)
	}

	vars := Variables()
	for _, v := range vars {
		if !documented[v] {
			t.Errorf("docs/configuration.md has no row for %s: add a line starting \"| `%s` |\"", v, v)
		}
	}
	for v := range documented {
		if !slices.Contains(vars, v) {
			t.Errorf("docs/configuration.md documents %s, which Config does not read: remove the row or add the field", v)
		}
	}
}

// repoRoot finds the module root (the directory holding go.mod) above the test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// TestLoadRefusesValuesThatWouldDisableAFeature: values that passed the cold-start check and
// then silently disabled a feature (issue 23 #7) fail fast, naming the variable.
func TestLoadRefusesValuesThatWouldDisableAFeature(t *testing.T) {
	const key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" // a well-formed EncodingAESKey
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"a public URL with a query", map[string]string{"ENVSHARE_PUBLIC_URL": "https://abc.execute-api.amazonaws.com/prod?x=1"},
			[]string{"ENVSHARE_PUBLIC_URL", "query"}},
		{"a public URL with a fragment", map[string]string{"ENVSHARE_PUBLIC_URL": "https://abc.execute-api.amazonaws.com/prod#top"},
			[]string{"ENVSHARE_PUBLIC_URL", "fragment"}},
		{"a public URL with user info", map[string]string{"ENVSHARE_PUBLIC_URL": "https://user:pass@abc.execute-api.amazonaws.com/prod"},
			[]string{"ENVSHARE_PUBLIC_URL", "user info"}},
		{"a page TTL above the longest page lifetime", map[string]string{"ENVSHARE_PAGE_TTL": "721h"},
			[]string{"ENVSHARE_PAGE_TTL", "720h"}},
		{"a page TTL below a second", map[string]string{"ENVSHARE_PAGE_TTL": "500ms"},
			[]string{"ENVSHARE_PAGE_TTL", "1s"}},
		{"an AES key that is not base64", map[string]string{"ENVSHARE_COMPONENT_AES_KEY": strings.Repeat("!", 43)},
			[]string{"ENVSHARE_COMPONENT_AES_KEY", "base64"}},
		{"a previous AES key that is not base64", map[string]string{"ENVSHARE_COMPONENT_AES_KEY": key,
			"ENVSHARE_COMPONENT_AES_KEY_PREVIOUS": "abcdefghijklmnopqrstuvwxyz0123456789ABCDE-_"},
			[]string{"ENVSHARE_COMPONENT_AES_KEY_PREVIOUS", "base64"}},
		{"a message token too short to be masked", map[string]string{"ENVSHARE_COMPONENT_TOKEN": "abc1234"},
			[]string{"ENVSHARE_COMPONENT_TOKEN", "8 to 32"}},
		{"a message token longer than WeChat allows", map[string]string{"ENVSHARE_COMPONENT_TOKEN": strings.Repeat("a", 33)},
			[]string{"ENVSHARE_COMPONENT_TOKEN", "8 to 32"}},
		{"a previous HTTP secret that can never match", map[string]string{"ENVSHARE_HTTP_SECRET_PREVIOUS": "short"},
			[]string{"ENVSHARE_HTTP_SECRET_PREVIOUS", "at least 16 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { loadFails(t, tt.env, tt.want) })
	}
	t.Run("the values at the bounds are accepted", func(t *testing.T) {
		clearEnv(t)
		setEnv(t, map[string]string{"ENVSHARE_COMPONENT_ACCESS_TOKEN": "tok", "ENVSHARE_PAGE_TTL": "720h",
			"ENVSHARE_COMPONENT_AES_KEY": key, "ENVSHARE_COMPONENT_TOKEN": "abcd1234", "ENVSHARE_TICKET_WRITE_INTERVAL": "0s",
			"ENVSHARE_PUBLIC_URL": "https://abc.execute-api.amazonaws.com/prod/"})
		if _, err := Load(); err != nil {
			t.Fatal(err)
		}
	})
}

// loadFails loads the configuration of env (with a token of mode env) and wants an error that
// says each of want.
func loadFails(t *testing.T, env map[string]string, want []string) {
	t.Helper()
	clearEnv(t)
	t.Setenv("ENVSHARE_COMPONENT_ACCESS_TOKEN", "tok")
	setEnv(t, env)
	_, err := Load()
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// TestLoadChecksTheBackendSettings: ENVSHARE_TOKEN_OWNER and ENVSHARE_FORWARD_URL fail fast,
// naming the variable (issue 22 section 1).
func TestLoadChecksTheBackendSettings(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"an unknown owner", map[string]string{"ENVSHARE_TOKEN_OWNER": "backend"}, []string{"ENVSHARE_TOKEN_OWNER", "envshare", "external"}},
		{"an external owner in mode env", map[string]string{"ENVSHARE_TOKEN_OWNER": "external"}, []string{"ENVSHARE_TOKEN_OWNER", "not env"}},
		{"a forward URL without scheme", map[string]string{"ENVSHARE_FORWARD_URL": "backend.example.com/wechat"}, []string{"ENVSHARE_FORWARD_URL", "http(s) URL"}},
		{"a forward URL of another scheme", map[string]string{"ENVSHARE_FORWARD_URL": "ftp://backend.example.com/"}, []string{"ENVSHARE_FORWARD_URL"}},
		{"a forward URL with a query", map[string]string{"ENVSHARE_FORWARD_URL": "https://backend.example.com/wechat?x=1"}, []string{"ENVSHARE_FORWARD_URL", "query"}},
		{"a forward URL with an empty query", map[string]string{"ENVSHARE_FORWARD_URL": "https://backend.example.com/wechat?"}, []string{"ENVSHARE_FORWARD_URL", "query"}},
		{"a forward URL with a fragment", map[string]string{"ENVSHARE_FORWARD_URL": "https://backend.example.com/wechat#x"}, []string{"ENVSHARE_FORWARD_URL", "fragment"}},
		{"a forward URL with user info", map[string]string{"ENVSHARE_FORWARD_URL": "https://u:p@backend.example.com/wechat"}, []string{"ENVSHARE_FORWARD_URL", "user info"}},
	} {
		t.Run(tt.name, func(t *testing.T) { loadFails(t, tt.env, tt.want) })
	}
	t.Run("the defaults and good values are accepted", func(t *testing.T) {
		clearEnv(t)
		setEnv(t, map[string]string{"ENVSHARE_COMPONENT_ACCESS_TOKEN": "tok"})
		c, err := Load()
		if err != nil || c.TokenOwner != OwnerEnvshare || c.External() || c.ForwardURL != "" {
			t.Fatalf("%+v, %v", c, err)
		}
		clearEnv(t)
		setEnv(t, map[string]string{"ENVSHARE_TOKEN_MODE": "file", "ENVSHARE_TOKEN_FILE": "/run/credentials.json",
			"ENVSHARE_TOKEN_OWNER": "external", "ENVSHARE_FORWARD_URL": "https://backend.example.com/wechat/push"})
		if c, err := Load(); err != nil || !c.External() {
			t.Fatalf("%+v, %v", c, err)
		}
	})
}

// A misspelt ENVSHARE_ variable is reported; a setting, a tool's own variable (which the
// Makefile exports to every process, the local function included) and other names are not.
func TestUnknownNamesOnlyMisspeltSettings(t *testing.T) {
	environ := []string{"ENVSHARE_TOKEN_MODE=env", "ENVSHARE_RIE_BIN=/x", "ENVSHARE_URL=http://127.0.0.1:1",
		"ENVSHARE_TOKN_MODE=env", "ENVSHARE_TOKN_MODE=again", "HOME=/root", "ENVSHARE_ZZZ"}
	got := Unknown(environ)
	if want := []string{"ENVSHARE_TOKN_MODE", "ENVSHARE_ZZZ"}; !slices.Equal(got, want) {
		t.Fatalf("Unknown = %q, want %q", got, want)
	}
}
