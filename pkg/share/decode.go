package share

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/envshare/envshare/pkg/strictjson"
	"github.com/envshare/envshare/pkg/wechat"
)

// fieldState tells the rules which fields a body had and which paths already failed to decode,
// so that a problem is reported once and presence is not confused with a zero value.
type fieldState struct {
	present map[string]bool    // top-level fields with a non-null value
	bad     map[fieldPath]bool // paths whose JSON was wrong (already reported)
}

// Decode parses and validates a request body; it is the only producer of a valid Request.
// action is the HTTP route's action; "" means the body's "action" field says it (direct
// invocation, queue or timer message). An empty body counts as {}. The error is an *Error with
// code invalid_request listing every problem.
func Decode(body []byte, action string) (Request, error) {
	req, _, probs := decodeAndValidate(body, action)
	if err := probs.err("invalid request"); err != nil {
		return Request{}, err
	}
	req.valid = true
	return req, nil
}

// decodeAndValidate decodes body and, when it is a JSON object, applies the rules.
func decodeAndValidate(body []byte, action string) (Request, fieldState, problems) {
	req, st, probs := decodeBody(body, action)
	if !st.bad["body"] {
		probs = append(probs, validate(&req, st)...)
	}
	return req, st, probs
}

// decodeBody turns body into a Request, reporting JSON syntax and type problems, keys given
// twice and unknown fields. A path whose type is wrong is recorded in the state and left zero
// in the Request.
func decodeBody(body []byte, routeAction string) (Request, fieldState, problems) {
	var req Request
	var probs problems
	st := fieldState{present: map[string]bool{}, bad: map[fieldPath]bool{}}

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
	// encoding/json keeps the last of two equal keys: {"action":"share","action":"unshare"}
	// must never run either action.
	if dups := strictjson.DuplicateKeys(body); len(dups) > 0 {
		for _, path := range dups {
			probs.add(fieldPath(path), "given more than once")
		}
		st.bad["body"] = true
		return req, st, probs
	}

	for _, k := range sortedKeys(top) {
		if !slices.Contains(topFields, k) {
			probs.add(quoteKey(k), "unknown field")
		}
	}
	for _, k := range topFields {
		if raw, ok := top[k]; ok && !isNull(raw) {
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
	// The other fields, each by its decoder, in topFields' order: the order of the problems.
	decoders := map[string]func(fieldPath, json.RawMessage){
		"data":        func(p fieldPath, raw json.RawMessage) { req.Data = d.envList(p, raw) },
		"env":         func(p fieldPath, raw json.RawMessage) { req.Env, _ = d.str(p, raw) },
		"appids":      func(p fieldPath, raw json.RawMessage) { req.AppIDs = d.strings(p, raw) },
		"source_type": func(p fieldPath, raw json.RawMessage) { req.SourceType = d.sourceType(p, raw) },
		"envs":        func(p fieldPath, raw json.RawMessage) { req.Envs = d.envList(p, raw) },
		"customers":   func(p fieldPath, raw json.RawMessage) { req.Customers = d.customers(p, raw) },
		"prune":       func(p fieldPath, raw json.RawMessage) { req.Prune = d.boolean(p, raw) },
		"dry_run":     func(p fieldPath, raw json.RawMessage) { req.DryRun = d.boolean(p, raw) },
		"shard":       func(p fieldPath, raw json.RawMessage) { req.Shard = d.shard(p, raw) },
		"run":         func(p fieldPath, raw json.RawMessage) { req.Run, _ = d.str(p, raw) },
		"backfill":    func(p fieldPath, raw json.RawMessage) { req.Backfill = d.boolean(p, raw) },
	}
	for _, k := range topFields {
		if decode := decoders[k]; decode != nil && st.present[k] {
			decode(fieldPath(k), top[k])
		}
	}
	return req, st, probs
}

// decoder decodes one field at a time, so that every type problem is found and named.
type decoder struct {
	probs *problems
	bad   map[fieldPath]bool
}

func (d *decoder) fail(path fieldPath, format string, args ...any) {
	d.probs.add(path, format, args...)
	d.bad[path] = true
}

func (d *decoder) into(path fieldPath, raw json.RawMessage, v any, problem string) bool {
	if err := json.Unmarshal(raw, v); err != nil {
		d.fail(path, "%s", problem)
		return false
	}
	return true
}

// boolean decodes a true/false field; nil when it is not one (the problem is noted).
func (d *decoder) boolean(path fieldPath, raw json.RawMessage) *bool {
	var b bool
	if !d.into(path, raw, &b, "must be true or false") {
		return nil
	}
	return &b
}

// sourceType decodes a source_type; nil when it is no integer (the problem is noted, and the
// rules check its range).
func (d *decoder) sourceType(path fieldPath, raw json.RawMessage) *int {
	var n int
	if !d.into(path, raw, &n, "must be a non-negative integer") {
		return nil
	}
	return &n
}

func (d *decoder) str(path fieldPath, raw json.RawMessage) (string, bool) {
	if isNull(raw) { // inside arrays null is no string; absent fields never get here
		d.fail(path, "must be a string")
		return "", false
	}
	var s string
	ok := d.into(path, raw, &s, "must be a string")
	return s, ok
}

// strings decodes an array of strings; a wrong element is reported by its index and left "".
func (d *decoder) strings(path fieldPath, raw json.RawMessage) []string {
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
		out[i], _ = d.str(path.index(i), e)
	}
	return out
}

// object decodes a JSON object and reports keys other than fields.
func (d *decoder) object(path fieldPath, raw json.RawMessage, fields ...string) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		d.fail(path, "must be an object")
		return nil, false
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(fields, k) {
			d.probs.add(path.field(string(quoteKey(k))), "unknown field")
		}
	}
	return m, true
}

// field is a key of a JSON object and the decoder of its value.
type field struct {
	name   string
	decode func(path fieldPath, raw json.RawMessage)
}

// fields decodes the object at path: its keys of no field are reported, then each field whose
// value is there and not null is decoded, in fields' order.
func (d *decoder) fields(path fieldPath, raw json.RawMessage, fields ...field) {
	var buf [4]string // enough for every object of a body: no allocation per element
	names := buf[:0]
	for _, f := range fields {
		names = append(names, f.name)
	}
	m, ok := d.object(path, raw, names...)
	if !ok {
		return
	}
	for _, f := range fields {
		if raw, ok := m[f.name]; ok && !isNull(raw) {
			f.decode(path.field(f.name), raw)
		}
	}
}

// envList decodes [{"env","appids"}...].
func (d *decoder) envList(path fieldPath, raw json.RawMessage) []wechat.EnvAppIDs {
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		d.fail(path, `must be an array of {"env", "appids"} objects`)
		return nil
	}
	out := make([]wechat.EnvAppIDs, len(elems))
	var e *wechat.EnvAppIDs // the element being decoded
	fields := []field{
		{"env", func(p fieldPath, raw json.RawMessage) { e.Env, _ = d.str(p, raw) }},
		{"appids", func(p fieldPath, raw json.RawMessage) { e.AppIDs = d.strings(p, raw) }},
	}
	for i, elem := range elems {
		e = &out[i]
		d.fields(path.index(i), elem, fields...)
	}
	return out
}

// customers decodes [{"principal","envs","source_type"?}...].
func (d *decoder) customers(path fieldPath, raw json.RawMessage) []Customer {
	// The elements are read one at a time, not copied all at once: a manifest's customers
	// run to megabytes, and the instance's peak memory is set while it decodes them.
	elems := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := elems.Token(); err != nil || tok != json.Delim('[') {
		d.fail(path, `must be an array of {"principal", "envs", "source_type"?} objects`)
		return nil
	}
	out := []Customer{}
	var c *Customer // the element being decoded
	fields := []field{
		{"principal", func(p fieldPath, raw json.RawMessage) { c.Principal, _ = d.str(p, raw) }},
		{"envs", func(p fieldPath, raw json.RawMessage) { c.Envs = d.strings(p, raw) }},
		{"source_type", func(p fieldPath, raw json.RawMessage) { c.SourceType = d.sourceType(p, raw) }},
	}
	for i := 0; elems.More(); i++ {
		var e json.RawMessage
		if err := elems.Decode(&e); err != nil { // the body parsed whole already: cannot happen
			d.fail(path, `must be an array of {"principal", "envs", "source_type"?} objects`)
			return nil
		}
		out = append(out, Customer{})
		c = &out[i]
		d.fields(path.index(i), e, fields...)
	}
	return out
}

func (d *decoder) shard(path fieldPath, raw json.RawMessage) *Shard {
	m, ok := d.object(path, raw, "index", "count")
	if !ok {
		return nil
	}
	var s Shard
	for _, f := range []struct {
		name string
		v    *int
	}{{"index", &s.Index}, {"count", &s.Count}} {
		p := path.field(f.name)
		raw, ok := m[f.name]
		if !ok || isNull(raw) {
			d.fail(p, "required")
			continue
		}
		d.into(p, raw, f.v, "must be an integer")
	}
	return &s
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
