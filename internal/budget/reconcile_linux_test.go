package budget

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/rpcinvoke"
	"github.com/envshare/envshare/pkg/share"
	"github.com/envshare/envshare/pkg/wechat"
	"github.com/envshare/envshare/pkg/wxemu"
)

// The large reconcile: appids spread evenly over envs, every missingEvery-th pair not yet
// shared.
const (
	fleetAppIDs  = 10_000
	fleetEnvs    = 20
	missingEvery = 5 // 20%
	fleetToken   = "budget-component-access-token"
)

// BenchmarkReconcile10kRSS reports the peak memory of the SCF binary reconciling 10,000
// appids, and how long the invocation took.
func BenchmarkReconcile10kRSS(b *testing.B) {
	dir := b.TempDir()
	binary := buildRelease(b, "./function/scf", runtime.GOARCH, "", dir, "main")
	manifest, state := fleet()
	manifestPath := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(manifestPath, mustJSON(b, manifest), 0o600); err != nil {
		b.Fatal(err)
	}
	emu := wxemu.New(wxemu.Options{Tokens: []string{fleetToken}, Strict: true})
	environment := map[string]string{ // delivered with the invocation, as SCF does
		"ENVSHARE_WECHAT_BASE_URL":        emu.ServeTest(b),
		"ENVSHARE_COMPONENT_ACCESS_TOKEN": fleetToken,
		"ENVSHARE_MANIFEST":               manifestPath,
		"ENVSHARE_LOG_LEVEL":              "warn", // keep the benchmark's output readable
	}
	timer := []byte(`{"Type":"Timer","TriggerName":"envshare-reconcile","Time":"2023-11-14T22:13:20Z","Message":""}`)

	var rssMiB, wallMS []float64
	for b.Loop() {
		b.StopTimer()
		if err := emu.Seed(state); err != nil { // the same 20% missing every time
			b.Fatal(err)
		}
		emu.ResetCalls()
		b.StartTimer()

		rss, wall, err := reconcileOnce(binary, timer, environment)
		if err != nil {
			b.Fatal(err)
		}
		rssMiB = append(rssMiB, rss)
		wallMS = append(wallMS, float64(wall)/float64(time.Millisecond))
	}
	b.ReportMetric(median(rssMiB), "peak_rss_MiB")
	b.ReportMetric(median(wallMS), "wall_ms")
}

// reconcileOnce starts the binary, sends the timer event, checks the answer and returns the
// process's peak resident memory in MiB and the invocation's duration.
func reconcileOnce(binary string, event []byte, environment map[string]string) (float64, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	proc, err := rpcinvoke.Start(ctx, binary, nil)
	if err != nil {
		return 0, 0, err
	}
	defer proc.Close()

	start := time.Now()
	answer, err := proc.Invoke(event, environment, "budget-reconcile", 2*time.Minute)
	wall := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	if err := checkReconcile(answer); err != nil {
		return 0, 0, err
	}
	rss, err := peakRSS(proc.PID())
	return rss, wall, err
}

// checkReconcile makes sure the invocation did the whole reconcile.
func checkReconcile(answer []byte) error {
	var res struct {
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(answer, &res); err != nil {
		return fmt.Errorf("reconcile answered %.200s: %w", answer, err)
	}
	missing := fleetAppIDs / missingEvery
	want := map[string]int{"desired": fleetAppIDs, share.StatusAlreadyShared: fleetAppIDs - missing,
		share.StatusPendingConfirmation: missing, share.StatusFailed: 0, share.StatusDeferred: 0}
	for name, n := range want {
		if got := res.Summary[name]; got != n {
			return fmt.Errorf("reconcile summary %s = %d, want %d: %.300s", name, got, n, answer)
		}
	}
	return nil
}

// peakRSS reads VmHWM, the peak resident set size, of process pid, in MiB.
func peakRSS(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok { // "VmHWM:	   12345 kB"
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", v, err)
			}
			return kb / 1024, nil
		}
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// fleet returns the manifest of the large reconcile and the emulator's world before it: every
// appid in one env, all bound but every missingEvery-th, which needs confirmation once shared.
func fleet() (share.Request, wxemu.State) {
	manifest := share.Request{Envs: make([]wechat.EnvAppIDs, fleetEnvs)}
	state := wxemu.State{Envs: map[string]wxemu.Env{}, Apps: map[string]wxemu.App{}, Bindings: map[string][]string{}}
	for e := range fleetEnvs {
		env := fmt.Sprintf("prod-%02d-6gni9ity244a6ea3", e)
		manifest.Envs[e].Env = env
		state.Envs[env] = wxemu.Env{Subject: "Acme"}
	}
	for i := range fleetAppIDs {
		appid := fmt.Sprintf("wx%016x", i)
		e := &manifest.Envs[i%fleetEnvs]
		e.AppIDs = append(e.AppIDs, appid)
		state.Apps[appid] = wxemu.App{Subject: "Acme"}
		if i%missingEvery != 0 {
			state.Bindings[appid] = []string{e.Env}
		}
	}
	return manifest, state
}
