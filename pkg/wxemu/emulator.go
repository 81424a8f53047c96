package wxemu

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// Endpoint names, as in wechat.APIError.Endpoint: the last element of each API path.
const (
	EndpointShare          = "batchshareenv"
	EndpointUnshare        = "batchunshareenv"
	EndpointGetEnvID       = "batchgetenvid"
	EndpointComponentToken = "api_component_token"
)

// TokenTTL is the lifetime of a minted component access token (expires_in).
const TokenTTL = 7200 * time.Second

// Options configure an Emulator. The zero value works: it makes up one access token
// (see Token) and refuses every minting request.
type Options struct {
	// Tokens are valid component access tokens that never expire by themselves.
	// None given: one is generated.
	Tokens []string
	// Strict answers 40097 when source_type is missing, as current docs require it.
	Strict bool
	// The platform's credentials, for api_component_token. ComponentAppID empty: minting
	// always fails with 40013.
	ComponentAppID        string
	ComponentAppSecret    string
	ComponentVerifyTicket string
	// MaxAppIDsPerCall, when positive, answers 40097 to a call naming more appids.
	MaxAppIDsPerCall int
	// Latency is waited on every API call (not /__emu/), or until the request is cancelled.
	Latency time.Duration
	// PublicURL is the base of confirmation links; empty: taken from each request's Host.
	PublicURL string
	// Now is the clock for token expiry; nil: time.Now.
	Now func() time.Time
	// Logger gets one debug line per API call, never a token; nil: discard.
	Logger *slog.Logger
}

// Emulator is a stateful, concurrency-safe WeChat third-party platform API for
// batchshareenv, batchunshareenv, batchgetenvid and api_component_token, with control
// endpoints under /__emu/. See the package documentation.
type Emulator struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	control *http.ServeMux

	mu      sync.Mutex
	world   world
	faults  []*activeFault
	tokens  map[string]time.Time // valid token → expiry; zero: never
	expired map[string]bool      // rotated-out tokens: 42001
	primary string
	calls   []Call
	counts  map[string]int
	seq     int // last confirmation id
}

var _ http.Handler = (*Emulator)(nil)

// New returns an Emulator with an empty state; seed it with Seed, LoadState or SeedFile.
func New(opts Options) *Emulator {
	e := &Emulator{
		opts:    opts,
		log:     opts.Logger,
		now:     opts.Now,
		tokens:  map[string]time.Time{},
		expired: map[string]bool{},
		counts:  map[string]int{},
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.world, _ = newWorld(State{}) // an empty state is always valid
	for _, t := range opts.Tokens {
		if t != "" {
			e.tokens[t] = time.Time{}
			if e.primary == "" {
				e.primary = t
			}
		}
	}
	if e.primary == "" {
		e.primary = newToken()
		e.tokens[e.primary] = time.Time{}
	}
	e.control = e.controlMux()
	return e
}

func newToken() string { return "emu-" + rand.Text() }

// ServeHTTP answers the WeChat API paths and the /__emu/ control endpoints.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/__emu/") {
		e.control.ServeHTTP(w, r)
		return
	}
	ep, ok := pathEndpoint(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	e.serveAPI(w, r, ep)
}

// pathEndpoint maps an API path to its endpoint name.
func pathEndpoint(p string) (string, bool) {
	switch p {
	case wechat.PathShareEnv, wechat.PathUnshareEnv, wechat.PathGetEnvID, wechat.PathComponentToken:
		return path.Base(p), true
	}
	return "", false
}

// endpointOf maps an endpoint name or API path to the endpoint name.
func endpointOf(nameOrPath string) (string, bool) {
	switch nameOrPath {
	case EndpointShare, EndpointUnshare, EndpointGetEnvID, EndpointComponentToken:
		return nameOrPath, true
	}
	return pathEndpoint(nameOrPath)
}

// Token returns the current primary access token: the first of Options.Tokens, the
// generated one, or the last from RotateToken.
func (e *Emulator) Token() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.primary
}

// RotateToken expires every valid token (they now answer 42001) and returns a new one.
func (e *Emulator) RotateToken() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for t := range e.tokens {
		e.expired[t] = true
	}
	clear(e.tokens)
	e.primary = newToken()
	e.tokens[e.primary] = time.Time{}
	return e.primary
}

// tokenCode is 0 for a valid token, else the errcode WeChat answers.
func (e *Emulator) tokenCode(tok string) int {
	if tok == "" {
		return 41001
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if exp, ok := e.tokens[tok]; ok {
		if exp.IsZero() || e.now().Before(exp) {
			return 0
		}
		return 42001
	}
	if e.expired[tok] {
		return 42001
	}
	return 40014
}

// mint checks the platform's credentials and records a new token valid for TokenTTL.
func (e *Emulator) mint(c wechat.ComponentTokenRequest) (string, int) {
	switch {
	case c.ComponentAppID == "" || c.ComponentAppSecret == "" || c.ComponentVerifyTicket == "":
		return "", 40101
	case e.opts.ComponentAppID == "" || c.ComponentAppID != e.opts.ComponentAppID:
		return "", 40013
	case c.ComponentAppSecret != e.opts.ComponentAppSecret:
		return "", 40125
	case c.ComponentVerifyTicket != e.opts.ComponentVerifyTicket:
		return "", 61006
	}
	tok := newToken()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tokens[tok] = e.now().Add(TokenTTL)
	return tok, 0
}

// Confirm confirms a pending share, as its administrator opening the link would.
func (e *Emulator) Confirm(id string) (env, appid string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k, ok := e.world.pendingByID[id]
	if !ok {
		return "", "", false
	}
	e.world.bind(k.appid, k.env)
	return k.env, k.appid, true
}

// pendingLocked returns the pending confirmation of (env, appid), creating it if needed.
func (e *Emulator) pendingLocked(env, appid string) string {
	k := pair{env, appid}
	if id, ok := e.world.pendingByPair[k]; ok {
		return id
	}
	var id string
	for id == "" || hasKey(e.world.pendingByID, id) {
		e.seq++
		id = fmt.Sprintf("c%06d", e.seq)
	}
	e.world.pendingByID[id] = k
	e.world.pendingByPair[k] = id
	return id
}
