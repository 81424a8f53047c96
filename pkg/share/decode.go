package share

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/envshare/envshare/pkg/wechat"
)

// Limits of one request (see the package comment).
const (
	MaxPairs         = 10_000  // distinct (env, appid) pairs per share or unshare request
	MaxAppIDs        = 10_000  // distinct appids per bindings request
	MaxManifestPairs = 200_000 // distinct (env, appid) pairs per reconcile manifest
	MaxShards        = 10_000  // largest shard.count
	maxDetails       = 100     // problems listed in one error; the rest are counted
)

// ValidAppID reports whether s is an appid: "wx" followed by 16 lowercase hex digits
// (^wx[0-9a-f]{16}$, checked by hand: manifests hold 100,000s of them).
func ValidAppID(s string) bool {
	if len(s) != 18 || s[0] != 'w' || s[1] != 'x' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidEnv reports whether s is an env id this package accepts: 1 to 64 lowercase letters,
// digits and hyphens (^[a-z0-9-]{1,64}$).
func ValidEnv(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// topFields lists every body field in the order problems are reported.
var topFields = []string{"action", "data", "env", "appids", "source_type", "envs", "prune", "dry_run", "shard"}

// allowed says which fields each action takes ("action" is allowed everywhere).
var allowed = map[string]map[string]bool{
	ActionShare:     {"action": true, "data": true, "env": true, "appids": true, "source_type": true},
	ActionUnshare:   {"action": true, "data": true, "env": true, "appids": true, "source_type": true},
	ActionBindings:  {"action": true, "appids": true, "source_type": true},
	ActionReconcile: {"action": true, "source_type": true, "envs": true, "prune": true, "dry_run": true, "shard": true},
}

// fieldState tells validate which fields a body had and which paths already failed to decode,
// so that a problem is reported once and presence is not confused with a zero value.
type fieldState struct {
	present map[string]bool // top-level fields with a non-null value
	bad     map[string]bool // paths whose JSON type was wrong (already reported)
}

// stateOf derives the field state of a Request built in code: a field is present when set.
func stateOf(r *Request) fieldState {
	p := map[string]bool{
		"action":      r.Action != "",
		"data":        r.Data != nil,
		"env":         r.Env != "",
		"appids":      r.AppIDs != nil,
		"source_type": r.SourceType != nil,
		"envs":        r.Envs != nil,
		"prune":       r.Prune != nil,
		"dry_run":     r.DryRun != nil,
		"shard":       r.Shard != nil,
	}
	return fieldState{present: p, bad: map[string]bool{}}
}

// problems collects what is wrong with a request.
type problems []string

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, path+": "+fmt.Sprintf(format, args...))
}

func (p problems) err(message string) error {
	if len(p) == 0 {
		return nil
	}
	details := []string(p)
	if len(details) > maxDetails {
		more := len(details) - maxDetails
		details = append(details[:maxDetails:maxDetails], fmt.Sprintf("... and %d more problem(s)", more))
	}
	return &Error{Code: CodeInvalidRequest, Message: message, Details: details}
}

// Decode parses and validates a request body. action is the HTTP route's action; "" means
// the body's "action" field says it (direct invocation, queue or timer message). An empty
// body counts as {}. The error is an *Error with code invalid_request listing every problem.
func Decode(body []byte, action string) (Request, error) {
	req, _, probs := decodeAndValidate(body, action)
	if err := probs.err("invalid request"); err != nil {
		return Request{}, err
	}
	return req, nil
}

// decodeAndValidate decodes body and, when it is a JSON object, validates what it holds.
func decodeAndValidate(body []byte, action string) (Request, fieldState, problems) {
	req, st, probs := decodeBody(body, action)
	if !st.bad["body"] {
		probs = append(probs, validate(&req, st)...)
	}
	return req, st, probs
}

// decodeBody turns body into a Request, reporting JSON syntax and type problems and unknown
// fields. A path whose type is wrong is recorded in the state and left zero in the Request.
func decodeBody(body []byte, routeAction string) (Request, fieldState, problems) {
	var req Request
	var probs problems
	st := fieldState{present: map[string]bool{}, bad: map[string]bool{}}

	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		probs = append(probs, "body: "+jsonProblem(body, err))
		st.bad["body"] = true
		return req, st, probs
	}
	if top == nil {
		probs.add("body", "must be a JSON object")
		st.bad["body"] = true
		return req, st, probs
	}

	for _, k := range sortedKeys(top) {
		if !slices.Contains(topFields, k) {
			probs.add(quoteKey(k), "unknown field")
		}
	}
	for _, k := range topFields {
		raw, ok := top[k]
		if ok && !isNull(raw) {
			st.present[k] = true
		}
	}

	d := &decoder{probs: &probs, bad: st.bad}
	if st.present["action"] {
		req.Action, _ = d.str("action", top["action"])
	}
	switch {
	case routeAction == "":
	case st.present["action"] && !st.bad["action"] && req.Action != routeAction:
		probs.add("action", "%s does not match the route's action %q", quote(req.Action), routeAction)
		st.bad["action"] = true
		req.Action = routeAction
	default:
		req.Action = routeAction
	}
	if st.present["data"] {
		req.Data = d.envList("data", top["data"])
	}
	if st.present["env"] {
		req.Env, _ = d.str("env", top["env"])
	}
	if st.present["appids"] {
		req.AppIDs = d.strings("appids", top["appids"])
	}
	if st.present["source_type"] {
		var n int
		if d.into("source_type", top["source_type"], &n, "must be a non-negative integer") {
			req.SourceType = &n
		}
	}
	if st.present["envs"] {
		req.Envs = d.envList("envs", top["envs"])
	}
	if st.present["prune"] {
		req.Prune = d.boolean("prune", top["prune"])
	}
	if st.present["dry_run"] {
		req.DryRun = d.boolean("dry_run", top["dry_run"])
	}
	if st.present["shard"] {
		req.Shard = d.shard("shard", top["shard"])
	}
	return req, st, probs
}

// decoder decodes one field at a time, so that every type problem is found and named.
type decoder struct {
	probs *problems
	bad   map[string]bool
}

func (d *decoder) fail(path, format string, args ...any) {
	d.probs.add(path, format, args...)
	d.bad[path] = true
}

func (d *decoder) into(path string, raw json.RawMessage, v any, problem string) bool {
	if err := json.Unmarshal(raw, v); err != nil {
		d.fail(path, "%s", problem)
		return false
	}
	return true
}

// boolean decodes a true/false field; nil when it is not one (the problem is noted).
func (d *decoder) boolean(path string, raw json.RawMessage) *bool {
	var b bool
	if !d.into(path, raw, &b, "must be true or false") {
		return nil
	}
	return &b
}

func (d *decoder) str(path string, raw json.RawMessage) (string, bool) {
	if isNull(raw) { // inside arrays null is no string; absent fields never get here
		d.fail(path, "must be a string")
		return "", false
	}
	var s string
	ok := d.into(path, raw, &s, "must be a string")
	return s, ok
}

// strings decodes an array of strings; a wrong element is reported by its index and left "".
func (d *decoder) strings(path string, raw json.RawMessage) []string {
	var out []string
	if json.Unmarshal(raw, &out) == nil && !slices.Contains(out, "") {
		if out == nil {
			out = []string{}
		}
		return out
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		d.fail(path, "must be an array of strings")
		return nil
	}
	out = make([]string, len(elems))
	for i, e := range elems {
		out[i], _ = d.str(fmt.Sprintf("%s[%d]", path, i), e)
	}
	return out
}

// object decodes a JSON object and reports keys other than fields.
func (d *decoder) object(path string, raw json.RawMessage, fields ...string) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		d.fail(path, "must be an object")
		return nil, false
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(fields, k) {
			d.probs.add(path+"."+quoteKey(k), "unknown field")
		}
	}
	return m, true
}

// envList decodes [{"env","appids"}...].
func (d *decoder) envList(path string, raw json.RawMessage) []wechat.EnvAppIDs {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		d.fail(path, `must be an array of {"env", "appids"} objects`)
		return nil
	}
	out := make([]wechat.EnvAppIDs, len(elems))
	for i, e := range elems {
		p := fmt.Sprintf("%s[%d]", path, i)
		m, ok := d.object(p, e, "env", "appids")
		if !ok {
			continue
		}
		if raw, ok := m["env"]; ok && !isNull(raw) {
			out[i].Env, _ = d.str(p+".env", raw)
		}
		if raw, ok := m["appids"]; ok && !isNull(raw) {
			out[i].AppIDs = d.strings(p+".appids", raw)
		}
	}
	return out
}

func (d *decoder) shard(path string, raw json.RawMessage) *Shard {
	m, ok := d.object(path, raw, "index", "count")
	if !ok {
		return nil
	}
	var s Shard
	for _, f := range []struct {
		name string
		v    *int
	}{{"index", &s.Index}, {"count", &s.Count}} {
		p := path + "." + f.name
		raw, ok := m[f.name]
		if !ok || isNull(raw) {
			d.fail(p, "required")
			continue
		}
		d.into(p, raw, f.v, "must be an integer")
	}
	return &s
}

// validate checks a decoded (or built) request: action, fields allowed for it, required and
// empty fields, appid and env formats, combinations and limits.
func validate(r *Request, st fieldState) problems {
	var p problems
	rules, ok := allowed[r.Action]
	if !ok {
		if !st.bad["action"] {
			if r.Action == "" {
				p.add("action", "required (one of share, unshare, bindings, reconcile)")
			} else {
				p.add("action", "%s is not one of share, unshare, bindings, reconcile", quote(r.Action))
			}
		}
		return p
	}
	for _, f := range topFields {
		if st.present[f] && !rules[f] {
			p.add(f, "not allowed for action %s", r.Action)
		}
	}
	if r.SourceType != nil && *r.SourceType < 0 {
		p.add("source_type", "must be a non-negative integer")
	}

	switch r.Action {
	case ActionShare, ActionUnshare:
		switch {
		case st.present["data"]:
			for _, f := range []string{"env", "appids"} {
				if st.present[f] {
					p.add(f, "not allowed together with data")
				}
			}
			if !st.bad["data"] {
				checkEnvList(&p, st, "data", r.Data)
			}
		case !st.present["env"] && !st.present["appids"]:
			p.add("data", "required (or env and appids)")
		default:
			if !st.bad["env"] {
				checkEnv(&p, "env", r.Env)
			}
			if !st.bad["appids"] {
				checkAppIDs(&p, st, "appids", r.AppIDs)
			}
		}
		if n := pairCount(r.pairsInput(), MaxPairs); n > MaxPairs {
			p.add(pairsField(r), "%d distinct (env, appid) pairs exceed the maximum of %d per request", n, MaxPairs)
		}
	case ActionBindings:
		if !st.bad["appids"] {
			checkAppIDs(&p, st, "appids", r.AppIDs)
		}
		if n := pairCount([]wechat.EnvAppIDs{{AppIDs: r.AppIDs}}, MaxAppIDs); n > MaxAppIDs {
			p.add("appids", "%d distinct appids exceed the maximum of %d per request", n, MaxAppIDs)
		}
	case ActionReconcile:
		if st.present["envs"] && !st.bad["envs"] {
			checkEnvList(&p, st, "envs", r.Envs)
			if n := pairCount(r.Envs, MaxManifestPairs); n > MaxManifestPairs {
				p.add("envs", "%d distinct (env, appid) pairs exceed the maximum of %d per manifest", n, MaxManifestPairs)
			}
		}
		if r.Shard != nil && !st.bad["shard"] {
			checkShard(&p, st, r.Shard)
		}
	}
	return p
}

func checkEnvList(p *problems, st fieldState, path string, list []wechat.EnvAppIDs) {
	if list == nil {
		p.add(path, "required")
		return
	}
	if len(list) == 0 {
		p.add(path, "must not be empty")
		return
	}
	for i, e := range list {
		ip := fmt.Sprintf("%s[%d]", path, i)
		if st.bad[ip] {
			continue
		}
		if !st.bad[ip+".env"] {
			checkEnv(p, ip+".env", e.Env)
		}
		if !st.bad[ip+".appids"] {
			checkAppIDs(p, st, ip+".appids", e.AppIDs)
		}
	}
}

func checkEnv(p *problems, path, env string) {
	switch {
	case env == "":
		p.add(path, "required")
	case !ValidEnv(env):
		p.add(path, "%s is not an env id (1-64 lowercase letters, digits and hyphens)", quote(env))
	}
}

func checkAppIDs(p *problems, st fieldState, path string, ids []string) {
	if ids == nil {
		p.add(path, "required")
		return
	}
	if len(ids) == 0 {
		p.add(path, "must not be empty")
		return
	}
	for i, id := range ids {
		if ValidAppID(id) {
			continue
		}
		ip := fmt.Sprintf("%s[%d]", path, i)
		if !st.bad[ip] {
			p.add(ip, "%s is not an appid (wx followed by 16 lowercase hex digits)", quote(id))
		}
	}
}

func checkShard(p *problems, st fieldState, s *Shard) {
	if st.bad["shard.count"] {
		return
	}
	if s.Count < 1 || s.Count > MaxShards {
		p.add("shard.count", "must be in [1, %d]", MaxShards)
		return
	}
	if !st.bad["shard.index"] && (s.Index < 0 || s.Index >= s.Count) {
		p.add("shard.index", "must be in [0, shard.count)")
	}
}

// pairCount counts the distinct pairs of lists, cheaply when there are at most limit pairs
// in all, duplicates included (the common case needs no map).
func pairCount(lists []wechat.EnvAppIDs, limit int) int {
	n := 0
	for _, l := range lists {
		n += len(l.AppIDs)
	}
	if n <= limit {
		return n
	}
	return len(distinctPairs(lists))
}

// pairsInput returns a share or unshare request's pairs as env lists, whichever form it used.
func (r *Request) pairsInput() []wechat.EnvAppIDs {
	if r.Data != nil {
		return r.Data
	}
	if r.Env == "" && r.AppIDs == nil {
		return nil
	}
	return []wechat.EnvAppIDs{{Env: r.Env, AppIDs: r.AppIDs}}
}

func pairsField(r *Request) string {
	if r.Data != nil {
		return "data"
	}
	return "appids"
}

// LoadManifest reads ENVSHARE_MANIFEST: a value whose first non-space character is "{" is
// inline JSON, anything else a file path (relative paths from the working directory). The
// manifest is validated like a reconcile body and must have envs. An empty value means no
// manifest: (nil, nil). Errors name ENVSHARE_MANIFEST and the field.
func LoadManifest(value string) (*Request, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, nil
	}
	const name = "ENVSHARE_MANIFEST"
	body, where := []byte(value), name
	if value[0] != '{' {
		where = fmt.Sprintf("%s (file %s)", name, value)
		b, err := os.ReadFile(value)
		if err != nil {
			return nil, &Error{Code: CodeInvalidRequest, Message: name + " cannot be read",
				Details: []string{fmt.Sprintf("%s: cannot read: %v", where, pathCause(err))}}
		}
		body = b
	}
	req, st, probs := decodeAndValidate(body, ActionReconcile)
	if !st.bad["body"] && !st.present["envs"] {
		probs.add("envs", "required")
	}
	if len(probs) > 0 {
		for i := range probs {
			probs[i] = where + ": " + probs[i]
		}
		return nil, probs.err(name + " is not a valid manifest")
	}
	return &req, nil
}

// pathCause drops the path an *fs.PathError repeats (where already names the file).
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// jsonProblem describes a JSON decoding error with its position and a short snippet.
func jsonProblem(body []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d near %s: %s", syn.Offset, snippet(body, syn.Offset),
			strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		return fmt.Sprintf("must be a JSON object, not %s", typ.Value)
	default:
		return "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
	}
}

// snippet quotes at most 20 bytes of body ending at offset.
func snippet(body []byte, offset int64) string {
	end := min(int(offset), len(body))
	start := max(0, end-20)
	return fmt.Sprintf("%q", body[start:end])
}

// quote quotes a value for a problem message, cut short so that a huge value is not echoed.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// quoteKey shows an unknown key as written when it is a plain name, else quoted.
func quoteKey(k string) string {
	for _, c := range k {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return quote(k)
		}
	}
	if k == "" || len(k) > 40 {
		return quote(k)
	}
	return k
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
