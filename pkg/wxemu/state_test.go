package wxemu

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSeedFile(t *testing.T) {
	emu := New(Options{})
	if err := emu.SeedFile("testdata/scenario.json"); err != nil {
		t.Fatal(err)
	}
	s := emu.State()
	t.Run("envs, apps, bindings and pending are loaded", func(t *testing.T) {
		if len(s.Envs) != 3 || len(s.Apps) != 5 {
			t.Fatalf("%d envs, %d apps", len(s.Envs), len(s.Apps))
		}
		if a := s.Apps[appNo18]; !a.MissingPermission18 {
			t.Errorf("%s: %+v", appNo18, a)
		}
		if a := s.Apps[appGlobex]; !slices.Equal(a.Permissions, []int{17, 18}) || a.AuthTime != 1700000000 {
			t.Errorf("%s: %+v", appGlobex, a)
		}
		if want := map[string]QuotaLimit{EndpointShare: {DailyLimit: 500, MinuteLimit: 20}}; !reflect.DeepEqual(s.Quotas, want) {
			t.Errorf("quotas %+v", s.Quotas)
		}
		if got := s.Bindings[appBound]; !reflect.DeepEqual(got, []string{envProd, envTest}) {
			t.Errorf("bindings are sorted: %v", got)
		}
		if want := []Pending{{ID: "c900001", Env: envProd, AppID: appAuto}}; !reflect.DeepEqual(s.Pending, want) {
			t.Errorf("pending %+v", s.Pending)
		}
	})
	t.Run("faults are loaded", func(t *testing.T) {
		want := []Fault{
			{Endpoint: EndpointShare, Kind: FaultBusy, Times: 1},
			{Kind: FaultLatency, Delay: time.Millisecond, Times: 2},
		}
		if !reflect.DeepEqual(s.Faults, want) {
			t.Errorf("faults %+v, want %+v", s.Faults, want)
		}
	})
	t.Run("a missing file is an error", func(t *testing.T) {
		if err := New(Options{}).SeedFile("testdata/nosuchfile.json"); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestSeedRefusesBadStates(t *testing.T) {
	tests := []struct {
		name string
		json string
	}{
		{"an unknown field", `{"envs":{},"apps":{},"bindngs":{}}`},
		{"a binding of an unknown app", `{"envs":{"e":{}},"apps":{},"bindings":{"wx1":["e"]}}`},
		{"a binding to an unknown env", `{"envs":{},"apps":{"wx1":{}},"bindings":{"wx1":["e"]}}`},
		{"a pending share without id", `{"envs":{"e":{}},"apps":{"wx1":{}},"pending":[{"env":"e","appid":"wx1"}]}`},
		{"a duplicate pending id", `{"envs":{"e":{},"f":{}},"apps":{"wx1":{}},"pending":[{"id":"a","env":"e","appid":"wx1"},{"id":"a","env":"f","appid":"wx1"}]}`},
		{"the same pair pending twice", `{"envs":{"e":{}},"apps":{"wx1":{}},"pending":[{"id":"a","env":"e","appid":"wx1"},{"id":"b","env":"e","appid":"wx1"}]}`},
		{"a pending share of an unknown app", `{"envs":{"e":{}},"apps":{},"pending":[{"id":"a","env":"e","appid":"wx1"}]}`},
		{"an invalid fault", `{"envs":{},"apps":{},"faults":[{"kind":"explode"}]}`},
		{"missing_permission_18 with 18 listed", `{"envs":{},"apps":{"wx1":{"permissions":[17,18],"missing_permission_18":true}}}`},
		{"a permission set that is not positive", `{"envs":{},"apps":{"wx1":{"permissions":[0]}}}`},
		{"a permission set that is no number", `{"envs":{},"apps":{"wx1":{"permissions":["18"]}}}`},
		{"an invalid quota", `{"envs":{},"apps":{},"quotas":{"batchshareenv":{"daily_limit":0}}}`},
		{"not JSON", `{`},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused and the old state kept", func(t *testing.T) {
			emu := New(Options{})
			if err := emu.Seed(DemoState()); err != nil {
				t.Fatal(err)
			}
			if err := emu.LoadState(strings.NewReader(tt.json)); err == nil {
				t.Fatal("accepted")
			}
			if !reflect.DeepEqual(emu.State(), DemoState()) {
				t.Fatal("state changed")
			}
		})
	}
}

func TestDemoState(t *testing.T) {
	t.Run("it seeds and round-trips through JSON", func(t *testing.T) {
		emu := New(Options{})
		if err := emu.Seed(DemoState()); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(emu.State())
		if err != nil {
			t.Fatal(err)
		}
		again := New(Options{})
		if err := again.LoadState(strings.NewReader(string(b))); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again.State(), DemoState()) {
			t.Fatalf("%+v", again.State())
		}
	})
	t.Run("every appid is wx and 16 lowercase hex digits", func(t *testing.T) {
		for appid := range DemoState().Apps {
			if len(appid) != 18 || !strings.HasPrefix(appid, "wx") || strings.Trim(appid[2:], "0123456789abcdef") != "" {
				t.Errorf("%q", appid)
			}
		}
	})
}

func TestSeedCopiesItsInput(t *testing.T) {
	s := DemoState()
	emu := New(Options{})
	_ = emu.Seed(s)
	s.Bindings[appBound][0] = "changed"
	s.Apps[appAuto] = App{}
	got := emu.State()
	if got.Bindings[appBound][0] != envTest || !got.Apps[appAuto].AutoConfirm {
		t.Fatal("the emulator shares memory with the seeded State")
	}
	s = DemoState()
	s.Apps[appAuto] = App{Subject: DemoSubject, Permissions: []int{18}}
	_ = emu.Seed(s)
	s.Apps[appAuto].Permissions[0] = 19
	if got := emu.State().Apps[appAuto].Permissions; got[0] != 18 {
		t.Fatal("the emulator shares the permission sets with the seeded State")
	}
	got.Bindings[appBound][0] = "changed again"
	if emu.State().Bindings[appBound][0] != envTest {
		t.Fatal("State() shares memory with the emulator")
	}
}
