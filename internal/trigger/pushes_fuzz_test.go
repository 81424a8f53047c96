package trigger

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/fleet"
	"github.com/envshare/envshare/pkg/share"
)

// FuzzPushOrder: whatever the sequence of authorization events pushed to one instance (three
// appids, three kinds, CreateTimes and a clock that move by the fuzzer's bytes), the events
// acted on for an appid never go back in time (issue 23 #3), and a copy of the event acted on
// last (the same kind and CreateTime) acts again only once duplicateWindow has passed.
func FuzzPushOrder(f *testing.F) {
	f.Add([]byte{0, 0, 5, 0, 0, 2, 3, 0, 0, 0, 5, 0})
	f.Add([]byte{1, 1, 9, 30, 1, 2, 4, 0, 1, 1, 9, 31})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var m pushMemory
		now := time.Unix(1_700_000_000, 0)
		clock := func() time.Time { return now }
		type acted struct {
			kind    string
			created int64
			at      time.Time
		}
		last := map[string]acted{}
		kinds := []string{"authorized", "updateauthorized", "unauthorized"}
		for i := 0; i+3 < len(ops); i += 4 {
			appid, kind := []string{"wxa", "wxb", "wxc"}[ops[i]%3], kinds[ops[i+1]%3]
			created := 1_700_000_000 + int64(ops[i+2]%16)
			now = now.Add(time.Duration(ops[i+3]%40) * time.Second)
			v, done, err := m.take(context.Background(), appid, kind, created, clock)
			if err != nil {
				t.Fatal(err)
			}
			if v != pushAct {
				continue
			}
			done()
			if l, ok := last[appid]; ok {
				if created < l.created {
					t.Fatalf("%s: acted on %s of %d after %s of %d", appid, kind, created, l.kind, l.created)
				}
				if kind == l.kind && created == l.created && now.Sub(l.at) < duplicateWindow {
					t.Fatalf("%s: a copy of %s of %d acted %v after the first", appid, kind, created, now.Sub(l.at))
				}
			}
			last[appid] = acted{kind, created, now}
		}
	})
}

// FuzzOwnMessages: the internal messages (onboard, forward, fleet) are decoded strictly whatever
// the body: a body is either refused as invalid_request, with details, or decoded into values
// that hold what the message needs.
func FuzzOwnMessages(f *testing.F) {
	f.Add(`{"action":"onboard","appid":"wx0123456789abcdef","event":"authorized","create_time":1700000000}`)
	f.Add(`{"action":"forward","query":{"nonce":["1"]},"body":"<xml/>","content_type":"text/xml"}`)
	f.Add(`{"action":"fleet"}`)
	f.Add(`{"query":{},"body":"x","body":"y"}`)
	f.Add(`{"appid":1,"event":[],"create_time":"x","extra":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		checkRefusal := func(se *share.Error) {
			if se.Code != share.CodeInvalidRequest || len(se.Details) == 0 {
				t.Fatalf("%q: %+v", body, se)
			}
		}
		if ev, se := decodeOnboard([]byte(body)); se != nil {
			checkRefusal(se)
		} else if !share.ValidAppID(ev.AppID) || ev.CreateTime.Unix() <= 0 ||
			!strings.Contains(" "+fleet.EventAuthorized+" "+fleet.EventUpdateAuthorized+" "+fleet.EventUnauthorized+" ", " "+ev.InfoType+" ") {
			t.Fatalf("%q decoded into %+v", body, ev)
		}
		if _, se := decodeForward([]byte(body)); se != nil {
			checkRefusal(se)
		} else {
			var m map[string]json.RawMessage
			_ = json.Unmarshal([]byte(body), &m)
			if _, ok := m["query"]; !ok {
				t.Fatalf("%q decoded without a query", body)
			}
			if _, ok := m["body"]; !ok {
				t.Fatalf("%q decoded without a body", body)
			}
		}
		if se := decodeBare([]byte(body), fleetAction); se != nil {
			checkRefusal(se)
		}
	})
}
