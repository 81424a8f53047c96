package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/envshare/envshare/pkg/redact"
)

// Variable is the environment variable that names the ledger.
const Variable = "ENVSHARE_LEDGER"

// The schemes of ENVSHARE_LEDGER.
const (
	SchemeSQLite   = "sqlite"
	SchemeDynamoDB = "dynamodb"
	SchemeMySQL    = "mysql"
)

// forms lists the accepted values, for error messages.
const forms = "sqlite:PATH, dynamodb:TABLE, mysql (the DSN in the credentials secret's ledger_dsn) or mysql:DSN"

// Spec is a parsed ENVSHARE_LEDGER value.
type Spec struct {
	Scheme string // SchemeSQLite, SchemeDynamoDB or SchemeMySQL
	// Arg is the file path, the table name or the DSN; empty for a bare "mysql", whose DSN is
	// the credentials secret's ledger_dsn.
	Arg string
}

// String gives the value without its DSN (which holds a password).
func (s Spec) String() string {
	switch {
	case s.Scheme == SchemeMySQL && s.Arg != "":
		return "mysql:[DSN]"
	case s.Arg == "":
		return s.Scheme
	}
	return s.Scheme + ":" + s.Arg
}

// FromSecret reports whether the DSN comes from the credentials secret (a bare "mysql").
func (s Spec) FromSecret() bool { return s.Scheme == SchemeMySQL && s.Arg == "" }

// tableName reports whether s is a DynamoDB table name: 3 to 255 of A-Z a-z 0-9 _ . - (by
// hand: the regexp of a {3,255} repetition costs every binary 4 ms and 240 KB at init).
func tableName(s string) bool {
	return len(s) >= 3 && len(s) <= 255 && only(s, func(c byte) bool {
		return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
	})
}

// schemeName reports whether s looks like a scheme: 1 to 16 lowercase letters and digits.
func schemeName(s string) bool {
	return len(s) >= 1 && len(s) <= 16 && only(s, func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' })
}

func only(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// ParseSpec checks the syntax of an ENVSHARE_LEDGER value (not empty). Errors name the
// variable and never quote what follows the scheme.
func ParseSpec(value string) (Spec, error) {
	scheme, arg, colon := strings.Cut(strings.TrimSpace(value), ":")
	s := Spec{Scheme: scheme, Arg: arg}
	switch scheme {
	case SchemeSQLite:
		if arg == "" {
			return Spec{}, fmt.Errorf("%s: sqlite needs the database file's path: sqlite:PATH, such as sqlite:envshare.db", Variable)
		}
	case SchemeDynamoDB:
		if !tableName(arg) {
			return Spec{}, fmt.Errorf("%s: dynamodb needs a table name: dynamodb:TABLE, 3 to 255 of A-Z a-z 0-9 _ . -", Variable)
		}
	case SchemeMySQL:
		if colon && arg == "" {
			return Spec{}, fmt.Errorf("%s: mysql: needs a DSN after the colon (user:password@tcp(host:3306)/database), or write mysql alone to use the credentials secret's ledger_dsn", Variable)
		}
	default:
		switch {
		case strings.Contains(arg, "@"): // not quoted: a DSN and its password
			return Spec{}, fmt.Errorf("%s: the value does not start with a known scheme (a MySQL DSN is written mysql:DSN): want %s", Variable, forms)
		case colon && schemeName(scheme):
			return Spec{}, fmt.Errorf("%s: unknown scheme %q: want %s", Variable, scheme, forms)
		}
		return Spec{}, fmt.Errorf("%s: the value does not start with a known scheme: want %s", Variable, forms)
	}
	return s, nil
}

// Engine opens one scheme of ENVSHARE_LEDGER. Each engine package exports one; a binary
// passes Open the engines it links.
type Engine struct {
	Scheme string
	// Open opens the engine on the value's argument: the path, the table or the DSN. It checks
	// that the database can be reached, and its errors hold no password.
	Open func(ctx context.Context, arg string) (Driver, error)
}

// Open opens the ledger that value (ENVSHARE_LEDGER) names with one of engines; secretDSN is
// the credentials secret's ledger_dsn, used by a bare "mysql". An empty value means no ledger:
// Open returns nil and no error. Every error names the variable (and the secret's field when
// the DSN came from it), and holds neither the DSN nor its password.
func Open(ctx context.Context, value, secretDSN string, opts Options, engines ...Engine) (*Ledger, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	spec, err := ParseSpec(value)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(engines, func(e Engine) bool { return e.Scheme == spec.Scheme })
	if i < 0 {
		var have []string
		for _, e := range engines {
			have = append(have, e.Scheme)
		}
		return nil, fmt.Errorf("%s: this binary has no %s engine (it has: %s)", Variable, spec.Scheme, strings.Join(have, ", "))
	}
	where, arg := Variable+"="+spec.String(), spec.Arg
	if spec.FromSecret() {
		where += " (the credentials secret's ledger_dsn)"
		if arg = secretDSN; strings.TrimSpace(arg) == "" {
			return nil, fmt.Errorf("%s: the credentials secret has no ledger_dsn (user:password@tcp(host:3306)/database)", where)
		}
	}
	d, err := engines[i].Open(ctx, arg)
	if err != nil {
		if spec.Scheme == SchemeMySQL {
			err = redact.New(arg).Error(err) // the engine masks the password; this, a DSN quoted whole
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return New(d, opts), nil
}

// Secrets returns the secret values an ENVSHARE_LEDGER value holds: the DSN of mysql:DSN and
// its password; none for the other forms (a path, a table name).
func Secrets(value string) []string {
	scheme, dsn, _ := strings.Cut(strings.TrimSpace(value), ":")
	if scheme != SchemeMySQL || dsn == "" {
		return nil
	}
	return append([]string{dsn}, DSNSecrets(dsn)...)
}

// DSNSecrets returns the password of a MySQL DSN (user:password@tcp(host:3306)/database), as
// go-sql-driver/mysql finds it (up to the last "@"), for the redactor; none when it has none.
func DSNSecrets(dsn string) []string {
	at := strings.LastIndex(dsn, "@")
	if at < 0 {
		return nil
	}
	if _, pw, ok := strings.Cut(dsn[:at], ":"); ok && pw != "" {
		return []string{pw}
	}
	return nil
}

// ErrUnreachable is wrapped by an engine's Open when the database cannot be reached (no
// answer, refused, unknown host): the deployment's network or address is wrong, or the
// database is down.
var ErrUnreachable = errors.New("the database cannot be reached")
