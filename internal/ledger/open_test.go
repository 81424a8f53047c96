package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/ledger"
)

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  ledger.Spec
		err   string
	}{
		{value: "sqlite:/var/lib/envshare.db", want: ledger.Spec{Scheme: "sqlite", Arg: "/var/lib/envshare.db"}},
		{value: " sqlite:envshare.db ", want: ledger.Spec{Scheme: "sqlite", Arg: "envshare.db"}},
		{value: "dynamodb:envshare-ledger", want: ledger.Spec{Scheme: "dynamodb", Arg: "envshare-ledger"}},
		{value: "mysql", want: ledger.Spec{Scheme: "mysql"}},
		{value: "mysql:u:p@tcp(h:3306)/db", want: ledger.Spec{Scheme: "mysql", Arg: "u:p@tcp(h:3306)/db"}},
		{value: "sqlite", err: "sqlite needs the database file's path"},
		{value: "sqlite:", err: "sqlite needs the database file's path"},
		{value: "dynamodb:", err: "dynamodb needs a table name"},
		{value: "dynamodb:ab", err: "dynamodb needs a table name"},
		{value: "dynamodb:a b c", err: "dynamodb needs a table name"},
		{value: "mysql:", err: "mysql: needs a DSN"},
		{value: "postgres:x", err: `unknown scheme "postgres"`},
		{value: "SQLITE:x", err: "does not start with a known scheme"},
		{value: "u:secret-password@tcp(h)/db", err: "a MySQL DSN is written mysql:DSN"},
		{value: "whatever", err: "does not start with a known scheme"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			got, err := ledger.ParseSpec(tc.value)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "ENVSHARE_LEDGER: ") {
					t.Fatalf("ParseSpec(%q) = %+v, %v; want an error naming ENVSHARE_LEDGER with %q", tc.value, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseSpec(%q) = %+v, %v; want %+v", tc.value, got, err, tc.want)
			}
		})
	}
}

func TestSpecStringHidesTheDSN(t *testing.T) {
	for spec, want := range map[ledger.Spec]string{
		{Scheme: "mysql", Arg: "u:pw@tcp(h)/db"}: "mysql:[DSN]",
		{Scheme: "mysql"}:                        "mysql",
		{Scheme: "sqlite", Arg: "a.db"}:          "sqlite:a.db",
		{Scheme: "dynamodb", Arg: "tbl"}:         "dynamodb:tbl",
	} {
		if got := spec.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", spec, got, want)
		}
	}
}

// fakeEngine records what it was asked to open and fails as told.
type fakeEngine struct {
	scheme string
	got    string
	err    error
}

func (f *fakeEngine) engine() ledger.Engine {
	return ledger.Engine{Scheme: f.scheme, Open: func(_ context.Context, arg string) (ledger.Driver, error) {
		f.got = arg
		if f.err != nil {
			return nil, f.err
		}
		return conflicting{}, nil
	}}
}

func TestOpen(t *testing.T) {
	t.Run("an empty value is no ledger", func(t *testing.T) {
		l, err := ledger.Open(t.Context(), " ", "", ledger.Options{})
		if l != nil || err != nil {
			t.Errorf("Open(\"\") = %v, %v", l, err)
		}
	})
	t.Run("the engine of the scheme opens the argument", func(t *testing.T) {
		sqlite, dynamo := &fakeEngine{scheme: "sqlite"}, &fakeEngine{scheme: "dynamodb"}
		l, err := ledger.Open(t.Context(), "dynamodb:tbl", "", ledger.Options{}, sqlite.engine(), dynamo.engine())
		if err != nil || l == nil || dynamo.got != "tbl" || sqlite.got != "" {
			t.Errorf("Open = %v, %v; engines got %q, %q", l, err, sqlite.got, dynamo.got)
		}
	})
	t.Run("a bare mysql opens the secret's DSN", func(t *testing.T) {
		mysql := &fakeEngine{scheme: "mysql"}
		if _, err := ledger.Open(t.Context(), "mysql", "u:pw@tcp(h)/db", ledger.Options{}, mysql.engine()); err != nil || mysql.got != "u:pw@tcp(h)/db" {
			t.Errorf("Open = %v; the engine got %q", err, mysql.got)
		}
	})
	t.Run("an engine's error is masked of the DSN and names the variable", func(t *testing.T) {
		const dsn = "envshare:a-long-password@tcp(10.0.0.1:3306)/ledger"
		mysql := &fakeEngine{scheme: "mysql", err: fmt.Errorf("could not open %s: %w", dsn, ledger.ErrUnreachable)}
		_, err := ledger.Open(t.Context(), "mysql:"+dsn, "", ledger.Options{}, mysql.engine())
		if err == nil || strings.Contains(err.Error(), "a-long-password") || !strings.HasPrefix(err.Error(), "ENVSHARE_LEDGER=mysql:[DSN]: ") || !errors.Is(err, ledger.ErrUnreachable) {
			t.Errorf("Open = %v", err)
		}
		_, err = ledger.Open(t.Context(), "mysql", dsn, ledger.Options{}, mysql.engine())
		if err == nil || strings.Contains(err.Error(), "a-long-password") || !strings.Contains(err.Error(), "ledger_dsn") {
			t.Errorf("Open from the secret = %v", err)
		}
	})
	t.Run("a scheme this binary lacks", func(t *testing.T) {
		mysql := &fakeEngine{scheme: "mysql"}
		_, err := ledger.Open(t.Context(), "sqlite:x.db", "", ledger.Options{}, mysql.engine())
		if err == nil || !strings.Contains(err.Error(), "ENVSHARE_LEDGER: this binary has no sqlite engine (it has: mysql)") {
			t.Errorf("Open = %v", err)
		}
	})
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"sqlite:x.db", "dynamodb:tbl", "mysql", "mysql:u:p@tcp(h)/d", "pg:x", "u:p@x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		spec, err := ledger.ParseSpec(value)
		if err != nil {
			// The error quotes at most the scheme, never what follows it (a DSN, maybe). The
			// argument may still occur in the message's own words: then it also does when
			// every character of the argument but @ is replaced.
			scheme, arg, colon := strings.Cut(strings.TrimSpace(value), ":")
			if colon && arg != "" && strings.Contains(err.Error(), arg) {
				neutral := []rune(arg)
				for i, r := range neutral {
					if r != '@' {
						neutral[i] = '\a'
					}
				}
				_, err2 := ledger.ParseSpec(scheme + ":" + string(neutral))
				if err2 == nil || !strings.Contains(err2.Error(), arg) {
					t.Fatalf("the error %q quotes the argument %q", err, arg)
				}
			}
			return
		}
		switch spec.Scheme {
		case ledger.SchemeSQLite, ledger.SchemeDynamoDB, ledger.SchemeMySQL:
		default:
			t.Fatalf("ParseSpec(%q) = %+v", value, spec)
		}
		if spec.Scheme != ledger.SchemeMySQL && spec.Arg == "" {
			t.Fatalf("ParseSpec(%q) = %+v without an argument", value, spec)
		}
		if spec.Scheme == ledger.SchemeMySQL && spec.Arg != "" && spec.String() != "mysql:[DSN]" {
			t.Fatalf("%+v.String() = %q shows the DSN", spec, spec.String())
		}
	})
}
