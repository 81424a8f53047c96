package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/envshare/envshare/internal/testkit"
)

// PathEnv names a browser executable to use instead of searching $PATH.
const PathEnv = "ENVSHARE_CHROMIUM"

// names are searched in $PATH in this order; Debian's package installs the first.
var names = []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"}

// ErrNoBrowser: no Chromium executable was found.
var ErrNoBrowser = errors.New("browsertest: no chromium executable (apt-get install chromium)")

// Find returns the path of the Chromium executable: $ENVSHARE_CHROMIUM when
// set, else the first of chromium, chromium-browser, google-chrome-stable,
// google-chrome in $PATH.
func Find() (string, error) {
	if p := os.Getenv(PathEnv); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%w: %s=%s: %w", ErrNoBrowser, PathEnv, p, err)
		}
		return path, nil
	}
	for _, n := range names {
		if path, err := exec.LookPath(n); err == nil {
			return path, nil
		}
	}
	return "", ErrNoBrowser
}

// Require returns the browser's path, or ends the test: skipped on a
// developer's machine, failed under CI=true, where a skip would hide that the
// browser test never ran.
func Require(t testing.TB) string {
	t.Helper()
	path, err := Find()
	if err == nil {
		return path
	}
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("%v; CI=true, so the browser test must run: install it as `make test` does", err)
	}
	t.Skipf("%v; skipping the browser test: `make test` installs it", err)
	return ""
}

// Browser is one headless Chromium process; each Open runs in a new tab.
type Browser struct {
	ctx context.Context // the browser's chromedp context
	out *testkit.Buffer // the browser's stdout and stderr, for error messages
}

// New starts a headless browser for the test and stops it at the test's end.
// It skips or fails the test as Require does when there is none, and fails it
// when the browser does not start.
func New(t testing.TB) *Browser {
	t.Helper()
	path := Require(t)
	out := &testkit.Buffer{}
	opts := slices.Concat(chromedp.DefaultExecAllocatorOptions[:], []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		// Its singleton socket's directory too: Chromium makes it in $TMPDIR and, stopped
		// by the cancel below, never removes it.
		chromedp.Env("TMPDIR=" + shortTempDir(t)),
		chromedp.NoSandbox, // root in CI containers has no user namespace sandbox
		chromedp.DisableGPU,
		// The machines have no network but the loopback: without these,
		// Chromium's own background connections fail and slow it down.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.CombinedOutput(out),
	})
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// Cleanups run last-in first-out: the browser stops before t.TempDir
	// removes its profile.
	t.Cleanup(cancelAlloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser and its first tab
		t.Fatalf("start %s: %v\n%s", path, err, out.String())
	}
	return &Browser{ctx: ctx, out: out}
}

// Viewport is a window size in CSS pixels and a device scale factor.
type Viewport struct {
	Name          string
	Width, Height int64
	Scale         float64
	Mobile        bool
}

// Desktop and Phone are the two viewports the page tests use.
var (
	Desktop = Viewport{Name: "desktop", Width: 1280, Height: 900, Scale: 1}
	Phone   = Viewport{Name: "phone", Width: 390, Height: 844, Scale: 2, Mobile: true}
)

// Capture is what Open saw.
type Capture struct {
	Status   int64    // HTTP status of the document
	Title    string   // document.title
	PNG      []byte   // full-page screenshot at the viewport's scale
	Requests []string // URL of every request the page made, the document first
	Messages []string // browser log and console messages, e.g. CSP violations
	// Evaluated are the values of the expressions given to Open, in their order, each
	// evaluated by the test through DevTools once the page loaded (the page's own CSP
	// does not apply to it), as JSON.
	Evaluated []string
}

// openTimeout bounds one Open; a page of ours loads in well under a second.
const openTimeout = 30 * time.Second

// Open loads url in a new tab at the viewport and captures it, with the JSON value of each of
// expressions (JavaScript the test runs to read the DOM, such as
// "document.documentElement.scrollWidth").
func (b *Browser) Open(url string, vp Viewport, expressions ...string) (Capture, error) {
	tab, closeTab := chromedp.NewContext(b.ctx)
	defer closeTab()
	if err := chromedp.Do(tab); err != nil { // opens the tab, outside the timeout
		return Capture{}, fmt.Errorf("new tab: %w\n%s", err, b.out.String())
	}
	ctx, cancel := context.WithTimeout(tab, openTimeout)
	defer cancel()

	var (
		mu  sync.Mutex
		got Capture
	)
	// Listen calls its func on the tab's reader goroutine: it must be quick.
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			got.Requests = append(got.Requests, ev.Request.URL)
		case *log.EventEntryAdded:
			got.Messages = append(got.Messages, fmt.Sprintf("%s %s: %s", ev.Entry.Source, ev.Entry.Level, ev.Entry.Text))
		case *runtime.EventConsoleAPICalled:
			got.Messages = append(got.Messages, fmt.Sprintf("console %s", ev.Type))
		case *runtime.EventExceptionThrown:
			got.Messages = append(got.Messages, "exception: "+ev.ExceptionDetails.Text)
		}
	})
	if err != nil {
		return Capture{}, fmt.Errorf("listen: %w", err)
	}

	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(vp.Scale)}
	if vp.Mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.Width, vp.Height, opts...)); err != nil {
		return Capture{}, fmt.Errorf("viewport %s: %w", vp.Name, err)
	}
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		return Capture{}, fmt.Errorf("open %s: %w", url, err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		return Capture{}, fmt.Errorf("title: %w", err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG, not JPEG
	if err != nil {
		return Capture{}, fmt.Errorf("screenshot: %w", err)
	}
	var evaluated []string
	for _, expr := range expressions {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string]("JSON.stringify("+expr+")"))
		if err != nil {
			return Capture{}, fmt.Errorf("evaluate %s: %w", expr, err)
		}
		evaluated = append(evaluated, v)
	}

	mu.Lock()
	defer mu.Unlock()
	got.Status, got.Title, got.PNG, got.Evaluated = resp.Status, title, png, evaluated
	got.Requests = append([]string(nil), got.Requests...)
	got.Messages = append([]string(nil), got.Messages...)
	return got, nil
}

// shortTempDir is a directory removed when the test ends, with a path short enough for a unix
// socket in a directory in it (108 bytes; t.TempDir's path holds the test's name).
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "browser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
