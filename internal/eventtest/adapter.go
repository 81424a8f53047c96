package eventtest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/trigger"
)

// The unit tests both adapters (function/aws, function/scf) run alike.

// Sample returns the sample event a.Dir/name.json.
func (a Adapter) Sample(t testing.TB, name string) []byte {
	t.Helper()
	return Must(os.ReadFile(filepath.Join(a.Dir, name+".json")))
}

// EachSample calls fn with the name (without .json) and payload of every sample of a.Dir.
func (a Adapter) EachSample(t testing.TB, fn func(name string, payload []byte)) {
	t.Helper()
	for _, path := range Samples(t, a.Dir) {
		fn(strings.TrimSuffix(filepath.Base(path), ".json"), Must(os.ReadFile(path)))
	}
}

// RoundTrip decodes each sample into a new value of its event type (events maps a sample's
// name to the type's constructor), encodes it and decodes it again: nothing may be lost or
// changed, and the event must not decode to its zero value.
func (a Adapter) RoundTrip(t *testing.T, events map[string]func() any) {
	for sample, newEvent := range events {
		t.Run(sample, func(t *testing.T) {
			first, second := newEvent(), newEvent()
			if err := json.Unmarshal(a.Sample(t, sample), first); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(Must(json.Marshal(first)), second); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(first, second) || reflect.ValueOf(first).Elem().IsZero() {
				t.Errorf("round trip changed the event:\n%+v\n%+v", first, second)
			}
		})
	}
}

// Fuzz fuzzes the adapter's handler over a core that answers every request (FakeDoer), seeded
// with every sample and seeds: whatever the payload, the handler neither panics nor answers a
// non-JSON value (CheckClass).
func (a Adapter) Fuzz(f *testing.F, seeds ...[]byte) {
	a.EachSample(f, func(_ string, payload []byte) { f.Add(payload) })
	for _, s := range seeds {
		f.Add(s)
	}
	f.Setenv("ENVSHARE_COMPONENT_ACCESS_TOKEN", "tok")
	f.Setenv("ENVSHARE_HTTP_AUTH", "none")
	app := trigger.New(trigger.Options{Platform: a.Platform, Logger: slog.New(slog.DiscardHandler), MetricsOut: io.Discard,
		Build: func(context.Context, config.Config) (*trigger.Core, error) {
			return &trigger.Core{Share: &FakeDoer{}}, nil
		}})
	handle := a.Handler(app)
	f.Fuzz(func(t *testing.T, payload []byte) {
		v, err := handle(context.Background(), payload)
		CheckClass(t, payload, v, err)
	})
}

// Must returns v, or panics with err: for what a test cannot do without.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
