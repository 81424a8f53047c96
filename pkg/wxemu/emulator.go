package wxemu

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/envshare/envshare/pkg/wechat"
)

// Endpoint names, as in wechat.APIError.Endpoint: the last element of each API path, and
// "quota/get" for the quota read.
const (
	EndpointShare          = "batchshareenv"
	EndpointUnshare        = "batchunshareenv"
	EndpointGetEnvID       = "batchgetenvid"
	EndpointComponentToken = "api_component_token"
	EndpointAuthorizerInfo = "api_get_authorizer_info"
	EndpointAuthorizerList = "api_get_authorizer_list"
	EndpointQuota          = "quota/get"
)

// endpoints lists every API the emulator answers: its name and its path.
var endpoints = []struct{ name, path string }{
	{EndpointShare, wechat.PathShareEnv},
	{EndpointUnshare, wechat.PathUnshareEnv},
	{EndpointGetEnvID, wechat.PathGetEnvID},
	{EndpointComponentToken, wechat.PathComponentToken},
	{EndpointAuthorizerInfo, wechat.PathAuthorizerInfo},
	{EndpointAuthorizerList, wechat.PathAuthorizerList},
	{EndpointQuota, wechat.PathQuota},
}

// WeChat's lifetimes.
const (
	// TokenTTL is the lifetime of a minted component access token (expires_in).
	TokenTTL = 7200 * time.Second
	// TicketTTL is how long a component_verify_ticket can mint after it was pushed.
	TicketTTL = 12 * time.Hour
	// DefaultMintGrace is how long a minted token keeps working once a newer one is minted.
	DefaultMintGrace = 5 * time.Minute
)

// Options configure an Emulator. The zero value works: it makes up one access token
// (see Token) and refuses every minting request.
type Options struct {
	// Tokens are valid component access tokens that never expire by themselves.
	// None given: one is generated.
	Tokens []string
	// Strict answers 40097 when source_type is missing, as current docs require it, and when a
	// batchshareenv / batchunshareenv call carries one appid twice (under two envs): a
	// confirmation link names an appid, not an env, so such a call could not tell which pair a
	// link confirms.
	Strict bool
	// The platform's credentials, for api_component_token and pushes. ComponentAppID
	// empty: minting always fails with 40013, and nothing can be pushed.
	ComponentAppID     string
	ComponentAppSecret string
	// ComponentVerifyTicket is a ticket issued when the emulator starts (by its clock), as if
	// pushed then: it mints for TicketTTL. Pushed tickets (PushTicket) mint too.
	ComponentVerifyTicket string
	// MintGrace is how long the previous minted token keeps working after a new mint, then it
	// answers 40001; 0: DefaultMintGrace (5 minutes).
	MintGrace time.Duration
	// MaxAppIDsPerCall, when positive, answers 40097 to a call naming more appids.
	MaxAppIDsPerCall int
	// Latency is waited on every API call (not /__emu/), or until the request is cancelled.
	Latency time.Duration
	// PublicURL is the base of confirmation links; empty: taken from each request's Host.
	PublicURL string
	// Now is the clock of everything WeChat times: token expiry and grace, ticket age, the
	// CreateTime and timestamp of pushes, quota days and minutes. nil: time.Now.
	Now func() time.Time
	// Quotas replace the default limits of some APIs (keys: endpoint names or paths of
	// metered APIs, see Quotas in the package documentation); the state's quotas replace
	// these in turn. New panics on an invalid entry, as on any other programming error.
	Quotas map[string]QuotaLimit

	// Pushes to the platform's "authorization event receiving URL", signed and encrypted
	// like WeChat's (see Pushes in the package documentation).
	PushURL        string        // the function's /wechat/events URL
	MessageToken   string        // the message verification token (消息校验Token)
	EncodingAESKey string        // the message encryption key (消息加解密Key), 43 characters
	PushInterval   time.Duration // StartPushing's ticket interval; 0: 10 minutes
	PushTimeout    time.Duration // for one answer; 0: 5 s, WeChat's limit
	PushAttempts   int           // attempts per push, the first included; 0: 3
	PushRetryPause time.Duration // between attempts; 0: none
	// Logger gets one debug line per API call and per push attempt, and a warning per
	// ticket push of StartPushing that fails; never a token, ticket or key. nil: discard.
	Logger *slog.Logger
}

// Emulator is a stateful, concurrency-safe WeChat third-party platform API for
// batchshareenv, batchunshareenv, batchgetenvid, api_component_token,
// api_get_authorizer_info, api_get_authorizer_list and quota/get, with per-API quotas and
// control endpoints under /__emu/. See the package documentation.
type Emulator struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	control *http.ServeMux

	crypto    *Sealer  // nil when pushes are not configured
	pushURL   *url.URL // Options.PushURL, parsed; nil with crypto
	cryptoErr error    // why pushes are not configured
	pushes    *http.Client

	mu         sync.Mutex
	world      world
	faults     []*activeFault
	tokens     map[string]tokenLife
	expired    map[string]bool // rotated-out tokens: 42001
	primary    string
	lastMinted string               // superseded by the next mint
	tickets    map[string]time.Time // issued ticket → issue time
	calls      []Call
	counts     map[string]int
	mints      int // successful api_component_token calls since ResetCalls
	pushLog    []Push
	seq        int // last confirmation id

	quotaOpts  map[string]QuotaLimit // Options.Quotas, by endpoint name
	quotaState map[string]QuotaLimit // the state's quotas (Seed, ChangeQuota), by endpoint name
	quotaUse   map[string]*quotaUse  // what each metered API used today and this minute
}

// tokenLife is when a token stops working; zero times: never.
type tokenLife struct {
	expires     time.Time // 42001 from then on: minted more than TokenTTL ago
	invalidFrom time.Time // 40001 from then on: superseded by a newer mint
}

// code is 0 while the token works, else the errcode WeChat answers.
func (l tokenLife) code(now time.Time) int {
	switch {
	case !l.invalidFrom.IsZero() && !now.Before(l.invalidFrom):
		return 40001
	case !l.expires.IsZero() && !now.Before(l.expires):
		return 42001
	}
	return 0
}

var _ http.Handler = (*Emulator)(nil)

// New returns an Emulator with an empty state; seed it with Seed, LoadState or SeedFile.
func New(opts Options) *Emulator {
	e := &Emulator{
		opts:    opts,
		log:     opts.Logger,
		now:     opts.Now,
		tokens:  map[string]tokenLife{},
		expired: map[string]bool{},
		tickets: map[string]time.Time{},
		counts:  map[string]int{},
		pushes: &http.Client{
			// WeChat wants the answer itself, not a redirect to it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	quotas, err := normalizeQuotas(opts.Quotas)
	if err != nil {
		panic("wxemu.New: Options.Quotas: " + err.Error())
	}
	e.quotaOpts, e.quotaState, e.quotaUse = quotas, map[string]QuotaLimit{}, map[string]*quotaUse{}
	e.world, _ = newWorld(State{}) // an empty state is always valid
	for _, t := range opts.Tokens {
		if t != "" {
			e.tokens[t] = tokenLife{}
			if e.primary == "" {
				e.primary = t
			}
		}
	}
	if e.primary == "" {
		e.primary = newToken()
		e.tokens[e.primary] = tokenLife{}
	}
	if opts.ComponentVerifyTicket != "" {
		e.tickets[opts.ComponentVerifyTicket] = e.now()
	}
	e.crypto, e.pushURL, e.cryptoErr = pushConfig(opts)
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
	for _, ep := range endpoints {
		if ep.path == p {
			return ep.name, true
		}
	}
	return "", false
}

// endpointOf maps an endpoint name or API path to the endpoint name.
func endpointOf(nameOrPath string) (string, bool) {
	for _, ep := range endpoints {
		if ep.name == nameOrPath || ep.path == nameOrPath {
			return ep.name, true
		}
	}
	return "", false
}

// endpointPath is the path of an endpoint name.
func endpointPath(name string) string {
	for _, ep := range endpoints {
		if ep.name == name {
			return ep.path
		}
	}
	return ""
}

// tokenParam is the query parameter that carries an endpoint's token ("" for none).
func tokenParam(ep string) string {
	switch ep {
	case EndpointComponentToken:
		return ""
	case EndpointAuthorizerInfo, EndpointAuthorizerList:
		return "component_access_token"
	}
	return "access_token"
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
	e.lastMinted = ""
	e.primary = newToken()
	e.tokens[e.primary] = tokenLife{}
	return e.primary
}

// tokenCode is 0 for a valid token, else the errcode WeChat answers.
func (e *Emulator) tokenCode(tok string) int {
	if tok == "" {
		return 41001
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if life, ok := e.tokens[tok]; ok {
		return life.code(e.now())
	}
	if e.expired[tok] {
		return 42001
	}
	return 40014
}

// mint checks the platform's credentials and a ticket issued in the last TicketTTL, and
// records a new token valid for TokenTTL. Like WeChat, it invalidates the previous minted
// token after the grace period.
func (e *Emulator) mint(c wechat.ComponentTokenRequest) (string, int) {
	switch {
	case c.ComponentAppID == "" || c.ComponentAppSecret == "" || c.ComponentVerifyTicket == "":
		return "", 40101
	case e.opts.ComponentAppID == "" || c.ComponentAppID != e.opts.ComponentAppID:
		return "", 40013
	case c.ComponentAppSecret != e.opts.ComponentAppSecret:
		return "", 40125
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	if issued, ok := e.tickets[c.ComponentVerifyTicket]; !ok || now.Sub(issued) >= TicketTTL {
		return "", 61006
	}
	if prev, ok := e.tokens[e.lastMinted]; ok {
		grace := e.opts.MintGrace
		if grace <= 0 {
			grace = DefaultMintGrace
		}
		if cutoff := now.Add(grace); prev.invalidFrom.IsZero() && cutoff.Before(prev.expires) {
			prev.invalidFrom = cutoff
			e.tokens[e.lastMinted] = prev
		}
	}
	tok := newToken()
	e.tokens[tok] = tokenLife{expires: now.Add(TokenTTL)}
	e.lastMinted = tok
	e.mints++
	return tok, 0
}

// Mints counts the tokens minted (successful api_component_token calls) since the start or
// ResetCalls. Refused mints are not counted; they are in the call log with their errcode.
func (e *Emulator) Mints() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mints
}

// issueTicket records a new ticket as issued now, and forgets those that can no longer mint.
func (e *Emulator) issueTicket() string {
	ticket := "ticket@@@" + rand.Text()
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	for t, issued := range e.tickets {
		if now.Sub(issued) >= TicketTTL {
			delete(e.tickets, t)
		}
	}
	e.tickets[ticket] = now
	return ticket
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
