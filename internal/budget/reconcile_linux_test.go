package budget

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

const (
	fleetEnvs  = 20
	fleetToken = "budget-component-access-token"
	// The deployed configuration's worst case: confirmation pages (ENVSHARE_PUBLIC_URL, with
	// the page key derived from the HTTP secret) and a notification receiver, so that every
	// pending pair carries a link, a page and is POSTed.
	fleetSecret = "budget-http-secret-0123456789abcdef"
)

// fleetCase is one reconcile of ENVSHARE_MANIFEST: appids distinct appids, one pair each,
// spread evenly over fleetEnvs envs; every missingEvery-th pair is not shared yet and ends
// pending confirmation.
type fleetCase struct {
	name         string
	appids       int
	missingEvery int    // 1: every pair is missing
	rateLimit    string // ENVSHARE_RATE_LIMIT; "" the default (50 calls/s)
}

var fleetCases = []fleetCase{
	// The everyday fleet: 120 calls at the default rate limit.
	{name: "10k", appids: 10_000, missingEvery: 5},
	// The largest reconcile the limits allow (share.MaxManifestPairs): 4,000 calls, without
	// rate limit so that it takes seconds, not 80 s.
	{name: "200k", appids: share.MaxManifestPairs, missingEvery: 1, rateLimit: "0"},
}

// fleetBinary is one release binary, driven over net/rpc by internal/rpcinvoke.
type fleetBinary struct {
	name, pkg, tags string
	// perInvocation: the environment arrives with each invocation (SCF), not with the process.
	perInvocation bool
}

var fleetBinaries = []fleetBinary{
	{name: "scf", pkg: "./function/scf", tags: scfTags, perInvocation: true},
	// The AWS release binary has no net/rpc server (lambda.norpc); this build keeps it and is
	// otherwise the same, the same code path from the event to the answer.
	{name: "aws", pkg: "./function/aws", tags: "nethttpomithttp2"},
}

// BenchmarkReconcileRSS reports, for each binary and fleet, the peak memory of a fresh
// instance reconciling ENVSHARE_MANIFEST (peak_rss_MiB), its peak after loading the manifest
// only (manifest_rss_MiB), the size of the answer (answer_bytes) and the invocation's duration
// (wall_ms).
func BenchmarkReconcileRSS(b *testing.B) {
	dir := b.TempDir()
	binaries := make([]string, len(fleetBinaries))
	for i, fb := range fleetBinaries {
		binaries[i] = buildRelease(b, fb.pkg, runtime.GOARCH, fb.tags, dir, fb.name)
	}
	emu := wxemu.New(wxemu.Options{Tokens: []string{fleetToken}, Strict: true})
	wechatURL := emu.ServeTest(b)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(receiver.Close)

	for _, c := range fleetCases {
		manifest, state := fleet(c)
		manifestPath := filepath.Join(dir, "manifest-"+c.name+".json")
		if err := os.WriteFile(manifestPath, mustJSON(b, manifest), 0o600); err != nil {
			b.Fatal(err)
		}
		environment := map[string]string{
			"ENVSHARE_WECHAT_BASE_URL":        wechatURL,
			"ENVSHARE_COMPONENT_ACCESS_TOKEN": fleetToken,
			"ENVSHARE_MANIFEST":               manifestPath,
			"ENVSHARE_HTTP_SECRET":            fleetSecret,
			"ENVSHARE_PUBLIC_URL":             "https://k7m2p9q4r1.execute-api.ap-east-1.amazonaws.com",
			"ENVSHARE_NOTIFY_URL":             receiver.URL,
		}
		if c.rateLimit != "" {
			environment["ENVSHARE_RATE_LIMIT"] = c.rateLimit
		}
		for i, fb := range fleetBinaries {
			b.Run(fb.name+"-"+c.name, func(b *testing.B) {
				var rss, manifestRSS, answerBytes, wall []float64
				for b.Loop() {
					b.StopTimer()
					if err := emu.Seed(state); err != nil { // the same pairs missing every time
						b.Fatal(err)
					}
					emu.ResetCalls()
					b.StartTimer()

					m, err := reconcileOnce(binaries[i], fb.perInvocation, environment, c)
					if err != nil {
						b.Fatal(err)
					}
					rss, manifestRSS = append(rss, m.peakRSS), append(manifestRSS, m.manifestRSS)
					answerBytes = append(answerBytes, float64(m.answerBytes))
					wall = append(wall, float64(m.wall)/float64(time.Millisecond))
				}
				b.ReportMetric(median(rss), "peak_rss_MiB")
				b.ReportMetric(median(manifestRSS), "manifest_rss_MiB")
				b.ReportMetric(median(answerBytes), "answer_bytes")
				b.ReportMetric(median(wall), "wall_ms")
			})
		}
	}
}

// measurement is one reconcile by a fresh instance.
type measurement struct {
	manifestRSS float64 // MiB, after an invocation that loads the manifest and reconciles nothing
	peakRSS     float64 // MiB, after the reconcile
	answerBytes int
	wall        time.Duration // the reconcile's invocation
}

// reconcileOnce starts the binary, runs measure on it and checks that every entry left out of
// the answer was logged.
func reconcileOnce(binary string, perInvocation bool, environment map[string]string, c fleetCase) (measurement, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var env []string
	if !perInvocation {
		for k, v := range environment {
			env = append(env, k+"="+v)
		}
	}
	proc, logged, err := startDrained(ctx, binary, env)
	if err != nil {
		return measurement{}, err
	}
	m, omitted, err := measure(proc, perInvocation, environment, c)
	proc.Close()
	n := <-logged // complete now that the child has exited
	if err == nil && n != omitted {
		err = fmt.Errorf("results_omitted is %d but %d entries were logged", omitted, n)
	}
	return m, err
}

// measure sends a small bindings invocation (the instance loads the manifest as it wires
// itself), then SCF's timer event with an empty Message, or on AWS an EventBridge Scheduled
// Event: the reconcile of the manifest. It checks the answer and returns its results_omitted.
func measure(proc *rpcinvoke.Process, perInvocation bool, environment map[string]string, c fleetCase) (m measurement, omitted int, err error) {
	bindings := []byte(`{"action":"bindings","appids":["` + appID(0) + `"]}`)
	if _, err := proc.Invoke(bindings, environment, "budget-load", time.Minute); err != nil {
		return m, 0, fmt.Errorf("bindings: %w", err)
	}
	if m.manifestRSS, err = peakRSS(proc.PID()); err != nil {
		return m, 0, err
	}
	event := []byte(`{"Type":"Timer","TriggerName":"envshare-reconcile","Time":"2023-11-14T22:13:20Z","Message":""}`)
	if !perInvocation {
		event = []byte(`{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event",` +
			`"source":"aws.events","account":"123456789012","time":"2023-11-14T22:13:20Z","region":"ap-east-1",` +
			`"resources":["arn:aws:events:ap-east-1:123456789012:rule/envshare-reconcile"],"detail":{}}`)
	}
	start := time.Now()
	answer, err := proc.Invoke(event, environment, "budget-reconcile", 5*time.Minute)
	m.wall = time.Since(start)
	if err != nil {
		return m, 0, fmt.Errorf("reconcile: %w", err)
	}
	m.answerBytes = len(answer)
	if m.peakRSS, err = peakRSS(proc.PID()); err != nil {
		return m, 0, err
	}
	omitted, err = checkReconcile(answer, c)
	return m, omitted, err
}

// startDrained starts binary with rpcinvoke and reads its output (the JSON log lines, one per
// entry left out of an answer among them: 199,000 of them for the 200k reconcile) line by line
// as it comes, holding one line at a time. logged delivers the count of those entries once
// the process has exited; warnings and errors are passed on to the benchmark's stderr.
func startDrained(ctx context.Context, binary string, env []string) (proc *rpcinvoke.Process, logged <-chan int, err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	proc, err = rpcinvoke.Start(ctx, binary, env, w)
	w.Close() // the child holds its own copy: r ends when the child exits
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	count := make(chan int, 1)
	go func() {
		defer r.Close()
		n := 0
		lines := bufio.NewScanner(r)
		lines.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for lines.Scan() {
			line := lines.Bytes()
			switch {
			case bytes.Contains(line, []byte(`"msg":"result left out of the answer"`)):
				n++
			case bytes.Contains(line, []byte(`"level":"WARN"`)), bytes.Contains(line, []byte(`"level":"ERROR"`)):
				fmt.Fprintf(os.Stderr, "%s: %s\n", filepath.Base(binary), line)
			}
		}
		_, _ = io.Copy(io.Discard, r) // after a line over 1 MiB: keep draining, never block the child
		count <- n
	}()
	return proc, count, nil
}

// checkReconcile makes sure the invocation did the whole reconcile and bounded its answer. It
// returns results_omitted.
func checkReconcile(answer []byte, c fleetCase) (int, error) {
	var res struct {
		Summary        map[string]int    `json:"summary"`
		Results        []json.RawMessage `json:"results"`
		ResultsOmitted int               `json:"results_omitted"`
		Notification   struct {
			Sent  bool `json:"sent"`
			Links int  `json:"links"`
		} `json:"notification"`
	}
	if err := json.Unmarshal(answer, &res); err != nil {
		return 0, fmt.Errorf("reconcile answered %.200s: %w", answer, err)
	}
	missing := (c.appids + c.missingEvery - 1) / c.missingEvery
	want := map[string]int{"desired": c.appids, string(share.StatusAlreadyShared): c.appids - missing,
		string(share.StatusPendingConfirmation): missing, string(share.StatusFailed): 0, string(share.StatusDeferred): 0}
	for name, n := range want {
		if got := res.Summary[name]; got != n {
			return 0, fmt.Errorf("reconcile summary %s = %d, want %d: %.300s", name, got, n, answer)
		}
	}
	listed := min(missing, share.DefaultMaxResults)
	if len(res.Results) != listed || res.ResultsOmitted != missing-listed {
		return 0, fmt.Errorf("the answer lists %d results and omits %d, want %d and %d",
			len(res.Results), res.ResultsOmitted, listed, missing-listed)
	}
	if !res.Notification.Sent || res.Notification.Links != missing {
		return 0, fmt.Errorf("notification %+v, want %d links sent", res.Notification, missing)
	}
	return res.ResultsOmitted, nil
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

func appID(i int) string { return fmt.Sprintf("wx%016x", i) }

// fleet returns c's manifest and the emulator's world before the reconcile: every appid in
// one env, all bound but every missingEvery-th, which needs confirmation once shared.
func fleet(c fleetCase) (share.Request, wxemu.State) {
	manifest := share.Request{Envs: make([]wechat.EnvAppIDs, fleetEnvs)}
	state := wxemu.State{Envs: map[string]wxemu.Env{}, Apps: map[string]wxemu.App{}, Bindings: map[string][]string{}}
	for e := range fleetEnvs {
		env := fmt.Sprintf("prod-%02d-6gni9ity244a6ea3", e)
		manifest.Envs[e].Env = env
		state.Envs[env] = wxemu.Env{Subject: "Acme"}
	}
	for i := range c.appids {
		appid := appID(i)
		e := &manifest.Envs[i%fleetEnvs]
		e.AppIDs = append(e.AppIDs, appid)
		state.Apps[appid] = wxemu.App{Subject: "Acme"}
		if i%c.missingEvery != 0 {
			state.Bindings[appid] = []string{e.Env}
		}
	}
	return manifest, state
}
