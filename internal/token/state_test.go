package token

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/store/awsstore"
	"github.com/envshare/envshare/internal/store/storetest"
	"github.com/envshare/envshare/internal/store/tencentstore"
	"github.com/envshare/envshare/pkg/redact"
)

// stateStore is one of the four stores a state record can live in.
type stateStore struct {
	name         string
	getOp, putOp string // the fake's operation names ("" for the file store: no failure injection)
	putCreates   bool   // PutParameter cannot help creating a missing parameter (awsstore's doc)
	open         func(t testing.TB) opened
}

// opened is a store on a fresh fake (or directory), and the fake's controls.
type opened struct {
	store store.Store
	id    string
	url   string                   // the fake's URL ("" for the file store)
	set   func(value string)       // creates or replaces the record
	get   func() string            // the record's value ("" when missing)
	fail  func(op, message string) // the next call of op fails with a message echoing message
}

// stateStores lists the file store and the three cloud stores on their fakes.
func stateStores() []stateStore {
	awsStore := func(open func(...awsstore.Option) (store.Store, error), id string,
		set func(f *storetest.AWS, v string), get func(f *storetest.AWS) string) func(testing.TB) opened {
		return func(t testing.TB) opened {
			f := storetest.NewAWS(t)
			f.SetEnv(t)
			s, err := open(store.WithEndpoint(f.URL), store.WithBackoff(0, 0))
			if err != nil {
				t.Fatal(err)
			}
			return opened{store: s, id: id, url: f.URL, set: func(v string) { set(f, v) }, get: func() string { return get(f) },
				fail: func(op, msg string) { f.Fail(1, storetest.Fault{Op: op, Code: "AccessDeniedException", Message: msg}) }}
		}
	}
	return []stateStore{
		{name: "file", open: func(t testing.TB) opened {
			path := filepath.Join(t.TempDir(), "state.json")
			return opened{store: store.File{}, id: path,
				set: func(v string) {
					if err := os.WriteFile(path, []byte(v), 0o600); err != nil {
						t.Fatal(err)
					}
				},
				get: func() string { b, _ := os.ReadFile(path); return string(b) }}
		}},
		{name: "aws-secretsmanager", getOp: "secretsmanager.GetSecretValue", putOp: "secretsmanager.PutSecretValue",
			open: awsStore(func(o ...awsstore.Option) (store.Store, error) { return awsstore.NewSecretsManager(o...) }, "envshare/state",
				func(f *storetest.AWS, v string) { f.SetSecret("envshare/state", v) },
				func(f *storetest.AWS) string { v, _ := f.Secret("envshare/state"); return v })},
		{name: "aws-ssm", getOp: "AmazonSSM.GetParameter", putOp: "AmazonSSM.PutParameter", putCreates: true,
			open: awsStore(func(o ...awsstore.Option) (store.Store, error) { return awsstore.NewParameters(o...) }, "/envshare/state",
				func(f *storetest.AWS, v string) { f.SetParameter("/envshare/state", v) },
				func(f *storetest.AWS) string { p, _ := f.Parameter("/envshare/state"); return p.Value })},
		{name: "tencent-ssm", getOp: "ssm.GetSecretValue", putOp: "ssm.UpdateSecret", open: func(t testing.TB) opened {
			f := storetest.NewTencent(t)
			f.SetEnv(t)
			const id, version = "envshare-state", tencentstore.DefaultStateVersionID
			s, err := tencentstore.NewSSM(store.WithEndpoint(f.URL), store.WithBackoff(0, 0),
				tencentstore.WithVersionID(version))
			if err != nil {
				t.Fatal(err)
			}
			return opened{store: s, id: id, url: f.URL,
				set:  func(v string) { f.SetSecret(id, version, v) },
				get:  func() string { v, _ := f.Secret(id, version); return v },
				fail: func(op, msg string) { f.Fail(1, storetest.Fault{Op: op, Code: "FailedOperation", Message: msg}) }}
		}},
	}
}

func TestStateRecordOnEveryStore(t *testing.T) {
	full := recordJSON(map[string]any{"component_verify_ticket": storedTicket, "ticket_create_time": t0,
		"component_access_token": storedToken, "expires_at": t0.Add(2 * time.Hour), "minted_at": t0,
		"note": "another writer's field"})

	for _, k := range stateStores() {
		t.Run(k.name, func(t *testing.T) {
			t.Run("a read gives every field and learns the secrets", func(t *testing.T) {
				o := k.open(t)
				s, id, set := o.store, o.id, o.set
				set(full)
				secrets := redact.New()
				st, err := StateRecord{Store: s, ID: id, Secrets: secrets}.Read(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if st.Ticket != storedTicket || !st.TicketCreated.Equal(t0) || st.Token != storedToken ||
					!st.ExpiresAt.Equal(t0.Add(2*time.Hour)) || !st.MintedAt.Equal(t0) {
					t.Errorf("Read = %+v", st)
				}
				assertClean(t, secrets.String(storedTicket+" "+storedToken))
			})

			t.Run("a write keeps the fields it does not know", func(t *testing.T) {
				o := k.open(t)
				s, id, set, get := o.store, o.id, o.set, o.get
				set(full)
				r := StateRecord{Store: s, ID: id}
				st, err := r.Read(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				st.Token, st.ExpiresAt = "stored-token-0002", t0.Add(3*time.Hour)
				if err := r.Write(t.Context(), st); err != nil {
					t.Fatal(err)
				}
				rec := decodeRecord(t, get())
				want := decodeRecord(t, full)
				want["component_access_token"], want["expires_at"] = "stored-token-0002", "2026-12-01T11:00:00Z"
				if !equalJSON(rec, want) {
					t.Errorf("record = %v, want %v", rec, want)
				}
				if again, err := r.Read(t.Context()); err != nil || again.Token != "stored-token-0002" {
					t.Errorf("Read after Write = %+v, %v", again, err)
				}
			})

			t.Run("an empty record {} is the zero State", func(t *testing.T) {
				o := k.open(t)
				s, id, set := o.store, o.id, o.set
				set("{}")
				st, err := StateRecord{Store: s, ID: id}.Read(t.Context())
				if err != nil || st.Token != "" || st.Ticket != "" || !st.ExpiresAt.IsZero() {
					t.Errorf("Read = %+v, %v", st, err)
				}
			})

			t.Run("a missing record is ErrNotFound naming it, and a write does not create it (but on SSM)", func(t *testing.T) {
				o := k.open(t)
				s, id, get := o.store, o.id, o.get
				r := StateRecord{Store: s, ID: id}
				_, err := r.Read(t.Context())
				if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), `read the state record "`+id+`"`) {
					t.Errorf("Read error = %v", err)
				}
				if k.putCreates {
					return
				}
				err = r.Write(t.Context(), State{Token: storedToken})
				if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), `write the state record "`+id+`"`) {
					t.Errorf("Write error = %v", err)
				}
				if got := get(); got != "" {
					t.Errorf("the write created the record: %q", got)
				}
				assertClean(t, "", err)
			})

			const part = "SECRETPART-0123"
			for _, bad := range []struct{ name, value, reason string }{
				{"text", "not json " + part, "not a JSON object"},
				{"an array", `["` + part + `"]`, "not a JSON object"},
				{"null", `null`, "not a JSON object"},
				{"a token that is not a string", `{"component_access_token": {"v": "` + part + `"}}`, "component_access_token is not a string"},
				{"a time that is not RFC 3339", `{"expires_at": "` + part + `"}`, "expires_at is not an RFC 3339 time"},
				{"a time that is a number", `{"ticket_create_time": 1733040000, "component_verify_ticket": "` + part + `"}`, "ticket_create_time is not an RFC 3339 time"},
			} {
				t.Run("a record holding "+bad.name+" is named, never quoted", func(t *testing.T) {
					o := k.open(t)
					s, id, set := o.store, o.id, o.set
					set(bad.value)
					_, err := StateRecord{Store: s, ID: id}.Read(t.Context())
					if err == nil || !strings.Contains(err.Error(), `state record "`+id+`"`) || !strings.Contains(err.Error(), bad.reason) ||
						!strings.Contains(err.Error(), "create it holding {}") {
						t.Fatalf("Read error = %v, want one naming the record and %q", err, bad.reason)
					}
					if strings.Contains(err.Error(), part) {
						t.Errorf("the value leaked: %v", err)
					}
				})
			}

			if k.getOp == "" {
				return
			}
			t.Run("a store error that echoes a known secret is redacted", func(t *testing.T) {
				o := k.open(t)
				s, id, set := o.store, o.id, o.set
				set(full)
				r := StateRecord{Store: s, ID: id, Secrets: redact.New()}
				if _, err := r.Read(t.Context()); err != nil {
					t.Fatal(err)
				}
				o.fail(k.getOp, "cannot read "+storedToken)
				_, readErr := r.Read(t.Context())
				o.fail(k.putOp, "cannot write "+storedTicket)
				writeErr := r.Write(t.Context(), State{Token: storedToken, Ticket: storedTicket})
				if readErr == nil || writeErr == nil {
					t.Fatalf("errors: %v, %v", readErr, writeErr)
				}
				if !strings.Contains(readErr.Error(), redact.Mask) || !strings.Contains(writeErr.Error(), redact.Mask) {
					t.Errorf("the store's messages are not kept, masked: %v; %v", readErr, writeErr)
				}
				assertClean(t, "", readErr, writeErr)
			})
		})
	}
}

func TestStateRecordFormat(t *testing.T) {
	t.Run("an empty value is the zero State", func(t *testing.T) {
		for _, v := range []string{"", " \n", "{}"} {
			if st, err := parseState(v); err != nil || st.Token != "" || len(st.other) != 0 {
				t.Errorf("parseState(%q) = %+v, %v", v, st, err)
			}
		}
	})

	t.Run("empty fields and empty times are left out of the record", func(t *testing.T) {
		got, err := State{Token: storedToken}.encode()
		if err != nil || got != `{"component_access_token":"`+storedToken+`"}` {
			t.Errorf("encode = %s, %v", got, err)
		}
	})

	t.Run("times are written in UTC, RFC 3339", func(t *testing.T) {
		shanghai := time.FixedZone("CST", 8*3600)
		got, _ := State{MintedAt: time.Date(2026, 12, 1, 16, 0, 0, 0, shanghai)}.encode()
		if got != `{"minted_at":"2026-12-01T08:00:00Z"}` {
			t.Errorf("encode = %s", got)
		}
	})

	t.Run("an empty time string reads as no time", func(t *testing.T) {
		st, err := parseState(`{"expires_at": ""}`)
		if err != nil || !st.ExpiresAt.IsZero() {
			t.Errorf("parseState = %+v, %v", st, err)
		}
	})
}
