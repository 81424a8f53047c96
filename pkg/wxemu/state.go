package wxemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"

	"github.com/envshare/envshare/pkg/wechat"
)

// State is the emulator's world, as seeded and as inspected: its JSON form is documented in
// doc.go. Seed replaces the whole world with it, faults included.
type State struct {
	Envs     map[string]Env      `json:"envs"`
	Apps     map[string]App      `json:"apps"`
	Bindings map[string][]string `json:"bindings,omitempty"` // appid → confirmed envs
	Pending  []Pending           `json:"pending,omitempty"`
	Faults   []Fault             `json:"faults,omitempty"`
	// Quotas replace the limits of some metered APIs (keys: endpoint names or paths); the
	// others keep Options.Quotas or the defaults.
	Quotas map[string]QuotaLimit `json:"quotas,omitempty"`
}

// Env is a CloudBase / CloudRun environment.
type Env struct {
	Subject string `json:"subject"` // the entity that owns it
}

// App is an account authorised to the third-party platform: a Mini Program, unless
// OfficialAccount. The zero value (besides Subject) is the common case: a Mini Program that
// granted DefaultPermissionSets (set 18 included), with cloud development, whose shares wait
// for the administrator's confirmation.
type App struct {
	// Subject is the legal entity that owns the app: api_get_authorizer_info's principal_name.
	// An env is shared only with apps of its own subject.
	Subject string `json:"subject"`
	// Permissions are the permission sets granted (func_info ids); nil: DefaultPermissionSets.
	Permissions         []int `json:"permissions,omitzero"`
	MissingPermission18 bool  `json:"missing_permission_18,omitempty"` // shorthand: the sets without 18
	OfficialAccount     bool  `json:"official_account,omitempty"`      // not a Mini Program: no MiniProgramInfo
	NoCloud             bool  `json:"no_cloud,omitempty"`              // has no cloud development
	AutoConfirm         bool  `json:"auto_confirm,omitempty"`          // shares take effect at once, no link
	Revoked             bool  `json:"revoked,omitempty"`               // has revoked its authorization (Revoke)
	// RefreshToken is the authorizer_refresh_token answered for it; empty: RefreshTokenPrefix
	// followed by the appid.
	RefreshToken string `json:"refresh_token,omitempty"`
	AuthTime     int64  `json:"auth_time,omitempty"` // when it authorised the platform, Unix seconds
}

// RefreshTokenPrefix begins every refresh token the emulator makes up, so that a test can scan
// outputs for them.
const RefreshTokenPrefix = "refreshtoken@@@"

// DefaultPermissionSets are the permission sets an App grants unless it says otherwise: a
// typical grant to a cloud-development platform, set 18 included.
func DefaultPermissionSets() []int { return []int{17, 18, 19, 25, 30} }

// PermissionSets returns the permission sets the app granted: Permissions (or the default),
// without 18 when MissingPermission18.
func (a App) PermissionSets() []int {
	sets := a.Permissions
	if sets == nil {
		sets = DefaultPermissionSets()
	}
	sets = slices.Clone(sets)
	if a.MissingPermission18 {
		sets = slices.DeleteFunc(sets, func(id int) bool { return id == wechat.PermissionSetDevelopment })
	}
	return sets
}

// unauthorized: the app grants the platform no permission set 18, or nothing at all any more.
func (a App) unauthorized() bool {
	return a.Revoked || !slices.Contains(a.PermissionSets(), wechat.PermissionSetDevelopment)
}

// refreshToken is the app's authorizer_refresh_token.
func (a App) refreshToken(appid string) string {
	if a.RefreshToken != "" {
		return a.RefreshToken
	}
	return RefreshTokenPrefix + appid
}

// validate checks the app's own fields.
func (a App) validate(appid string) error {
	for _, id := range a.Permissions {
		if id < 1 {
			return fmt.Errorf("app %s: permission set %d is not positive", appid, id)
		}
	}
	if a.MissingPermission18 && slices.Contains(a.Permissions, wechat.PermissionSetDevelopment) {
		return fmt.Errorf("app %s: missing_permission_18 contradicts permissions, which list 18", appid)
	}
	return nil
}

// Pending is a share waiting for the Mini Program administrator to open its confirmation link,
// served at <base>/__emu/confirm/<ID>.
type Pending struct {
	ID    string `json:"id"`
	Env   string `json:"env"`
	AppID string `json:"appid"`
}

// pair is one (env, appid).
type pair struct{ env, appid string }

// world is State indexed for fast lookups; guarded by Emulator.mu.
type world struct {
	envs          map[string]Env
	apps          map[string]App
	bound         map[string][]string // appid → sorted envs
	pendingByID   map[string]pair
	pendingByPair map[pair]string
	listed        []string // authorizers in list order (authorizerOrder); nil: to be made
}

// newWorld indexes s, copying everything so that the caller keeps its own State.
func newWorld(s State) (world, error) {
	w := world{
		envs:          maps.Clone(s.Envs),
		apps:          cloneApps(s.Apps),
		bound:         make(map[string][]string, len(s.Bindings)),
		pendingByID:   make(map[string]pair, len(s.Pending)),
		pendingByPair: make(map[pair]string, len(s.Pending)),
	}
	if w.envs == nil {
		w.envs = map[string]Env{}
	}
	if w.apps == nil {
		w.apps = map[string]App{}
	}
	var errs []error
	for _, appid := range slices.Sorted(maps.Keys(w.apps)) {
		if err := w.apps[appid].validate(appid); err != nil {
			errs = append(errs, err)
		}
	}
	for appid, envs := range s.Bindings {
		if _, ok := w.apps[appid]; !ok {
			errs = append(errs, fmt.Errorf("bindings: unknown appid %q", appid))
		}
		for _, env := range envs {
			if _, ok := w.envs[env]; !ok {
				errs = append(errs, fmt.Errorf("bindings of %s: unknown env %q", appid, env))
			}
		}
		if sorted := slices.Compact(slices.Sorted(slices.Values(envs))); len(sorted) > 0 {
			w.bound[appid] = sorted
		}
	}
	for _, p := range s.Pending {
		switch {
		case p.ID == "":
			errs = append(errs, fmt.Errorf("pending %s/%s: empty id", p.Env, p.AppID))
		case hasKey(w.pendingByID, p.ID):
			errs = append(errs, fmt.Errorf("pending: duplicate id %q", p.ID))
		case !hasKey(w.envs, p.Env):
			errs = append(errs, fmt.Errorf("pending %s: unknown env %q", p.ID, p.Env))
		case !hasKey(w.apps, p.AppID):
			errs = append(errs, fmt.Errorf("pending %s: unknown appid %q", p.ID, p.AppID))
		default:
			k := pair{p.Env, p.AppID}
			if _, dup := w.pendingByPair[k]; dup {
				errs = append(errs, fmt.Errorf("pending %s: %s/%s already pending", p.ID, p.Env, p.AppID))
				continue
			}
			w.pendingByID[p.ID] = k
			w.pendingByPair[k] = p.ID
		}
	}
	return w, errors.Join(errs...)
}

// cloneApps copies apps, their permission lists included.
func cloneApps(apps map[string]App) map[string]App {
	out := maps.Clone(apps)
	for appid, a := range out {
		if a.Permissions != nil {
			a.Permissions = slices.Clone(a.Permissions)
			out[appid] = a
		}
	}
	return out
}

// setApp adds or replaces an app.
func (w *world) setApp(appid string, a App) {
	w.apps[appid] = a
	w.listed = nil
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

// state copies the world out.
func (w *world) state() State {
	s := State{
		Envs:     maps.Clone(w.envs),
		Apps:     cloneApps(w.apps),
		Bindings: make(map[string][]string, len(w.bound)),
	}
	for appid, envs := range w.bound {
		s.Bindings[appid] = slices.Clone(envs)
	}
	for id, k := range w.pendingByID {
		s.Pending = append(s.Pending, Pending{ID: id, Env: k.env, AppID: k.appid})
	}
	sort.Slice(s.Pending, func(i, j int) bool { return s.Pending[i].ID < s.Pending[j].ID })
	return s
}

func (w *world) isBound(appid, env string) bool {
	_, found := slices.BinarySearch(w.bound[appid], env)
	return found
}

// bind confirms (env, appid), dropping any pending confirmation of it.
func (w *world) bind(appid, env string) {
	w.dropPending(env, appid)
	envs := w.bound[appid]
	if i, found := slices.BinarySearch(envs, env); !found {
		w.bound[appid] = slices.Insert(envs, i, env)
	}
}

// unbind removes the binding and any pending confirmation; it reports whether there was either.
func (w *world) unbind(appid, env string) bool {
	removed := w.dropPending(env, appid)
	envs := w.bound[appid]
	if i, found := slices.BinarySearch(envs, env); found {
		removed = true
		if envs = slices.Delete(envs, i, i+1); len(envs) == 0 {
			delete(w.bound, appid)
		} else {
			w.bound[appid] = envs
		}
	}
	return removed
}

func (w *world) dropPending(env, appid string) bool {
	k := pair{env, appid}
	id, ok := w.pendingByPair[k]
	if ok {
		delete(w.pendingByPair, k)
		delete(w.pendingByID, id)
	}
	return ok
}

// refusal is why WeChat would refuse to share env with appid, or "" when it would not.
func (w *world) refusal(env, appid string) string {
	e, envOK := w.envs[env]
	a, appOK := w.apps[appid]
	switch {
	case !envOK:
		return MsgEnvNotExist
	case !appOK:
		return MsgInvalidAppID
	case a.OfficialAccount:
		return MsgNotMiniProgram
	case a.unauthorized():
		return MsgNotAuthorized18
	case a.NoCloud:
		return MsgNoCloud
	case a.Subject != e.Subject:
		return MsgDifferentSubject
	}
	return ""
}

// Seed replaces the emulator's state (envs, apps, bindings, pending confirmations), its faults
// and its state quotas with s. Calls, tokens and what the APIs used of their quotas are kept.
// s is copied.
func (e *Emulator) Seed(s State) error {
	w, err := newWorld(s)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	faults, err := newActiveFaults(s.Faults)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	quotas, err := normalizeQuotas(s.Quotas)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.world = w
	e.faults = faults
	e.quotaState = quotas
	return nil
}

// LoadState seeds the emulator from State JSON. Unknown fields are refused, so that a typo in
// a scenario file is not ignored silently.
func (e *Emulator) LoadState(r io.Reader) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var s State
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("decode state: %w", err)
	}
	return e.Seed(s)
}

// SeedFile seeds the emulator from a State JSON file.
func (e *Emulator) SeedFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	defer f.Close()
	if err := e.LoadState(f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// State returns a copy of the current state, faults included.
func (e *Emulator) State() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.world.state()
	s.Faults = e.faultsLocked()
	if len(e.quotaState) > 0 {
		s.Quotas = maps.Clone(e.quotaState)
	}
	return s
}
