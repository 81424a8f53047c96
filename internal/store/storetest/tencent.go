package storetest

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// Tencent is a fake of Tencent Cloud SSM and SCF behind one URL: pass URL as a store's or an
// invoker's endpoint option.
type Tencent struct {
	URL string
	recorder

	mu          sync.Mutex
	secrets     map[string][]tcVersion // name → versions, oldest first
	functions   map[string]bool        // namespace + "/" + name
	invocations []Invocation
	created     uint64

	// Run, when set, carries out a synchronous Invoke (InvocationType RequestResponse): it gets
	// the event and returns the function's answer (RetMsg), or its error (InvokeResult -1, the
	// error's text as ErrMsg). Without it such an Invoke answers an empty RetMsg.
	Run func(event string) (string, error)
}

type tcVersion struct {
	id, value string
	created   uint64
}

// Invocation is an SCF Invoke call the fake accepted.
type Invocation struct {
	FunctionName, Namespace, Qualifier, InvocationType string
	ClientContext                                      string // the event, JSON
	Region                                             string
}

// NewTencent starts the fake; it stops when the test ends.
func NewTencent(t testing.TB) *Tencent {
	f := &Tencent{secrets: map[string][]tcVersion{}, functions: map[string]bool{}, created: 1700000000}
	f.URL = f.listen(t, f.serve)
	return f
}

// SetEnv sets the test credentials (SetTencentEnv). Tencent has no endpoint variable: pass URL
// as the endpoint option.
func (f *Tencent) SetEnv(t testing.TB) {
	t.Helper()
	SetTencentEnv(t)
}

// SetSecret adds a version to the SSM secret (creating the secret), or replaces the value of an
// existing version, as UpdateSecret does. Each new version is newer than the ones before.
func (f *Tencent) SetSecret(name, version, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := f.secrets[name]
	for i := range vs {
		if vs[i].id == version {
			vs[i].value = value
			return
		}
	}
	f.created++
	f.secrets[name] = append(vs, tcVersion{id: version, value: value, created: f.created})
}

// Secret gives the SecretString of a version of the SSM secret.
func (f *Tencent) Secret(name, version string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.secrets[name] {
		if v.id == version {
			return v.value, true
		}
	}
	return "", false
}

// AddFunction creates an SCF function that Invoke accepts.
func (f *Tencent) AddFunction(namespace, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.functions[namespace+"/"+name] = true
}

// Invocations gives the Invoke calls accepted so far, in order.
func (f *Tencent) Invocations() []Invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Invocation(nil), f.invocations...)
}

// tcServices maps an API version to its service, and the service to its actions.
var tcServices = map[string]struct {
	name    string
	actions []string
}{
	"2019-09-23": {"ssm", []string{"GetSecretValue", "ListSecretVersionIds", "UpdateSecret"}},
	"2018-04-16": {"scf", []string{"Invoke"}},
}

// tcInput holds the fields of every action the fake serves.
type tcInput struct {
	SecretName, VersionId, SecretString                string
	FunctionName, Namespace, Qualifier, InvocationType string
	ClientContext                                      string
}

func (f *Tencent) serve(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	action, region := r.Header.Get("X-TC-Action"), r.Header.Get("X-TC-Region")
	svc, known := tcServices[r.Header.Get("X-TC-Version")]
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Content-Type") != "application/json":
		tcFail(w, "InvalidParameter", "Only POST / with Content-Type application/json is served.")
		return
	case !known:
		tcFail(w, "NoSuchVersion", "The request version does not exist.")
		return
	case !slices.Contains(svc.actions, action):
		tcFail(w, "InvalidAction", "The action `"+action+"` does not exist.")
		return
	case region == "":
		tcFail(w, "MissingParameter", "The request is missing a required parameter `Region`.")
		return
	}
	if code, msg := verifyTC3(r, body, svc.name, time.Now()); code != "" {
		tcFail(w, code, msg)
		return
	}

	var in tcInput
	if err := json.Unmarshal(body, &in); err != nil {
		tcFail(w, "InvalidParameter", "The body is not a JSON object.")
		return
	}
	op := svc.name + "." + action
	q := Request{Op: op, ID: cmp.Or(in.SecretName, in.FunctionName), Region: region, Version: in.VersionId}
	if fault, ok := f.record(q); ok {
		tcFault(w, fault)
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	switch op {
	case "ssm.ListSecretVersionIds":
		f.listSecretVersionIds(w, in)
	case "ssm.GetSecretValue":
		f.getSecretValue(w, in)
	case "ssm.UpdateSecret":
		f.updateSecret(w, in)
	case "scf.Invoke":
		f.invoke(w, in, region)
	}
}

// version finds a version of a secret; the error code and message say what is missing.
func (f *Tencent) version(name, id string) (*tcVersion, string, string) {
	vs, ok := f.secrets[name]
	switch {
	case name == "":
		return nil, "MissingParameter", "The request is missing a required parameter `SecretName`."
	case !ok:
		return nil, "ResourceNotFound", "The secret `" + name + "` does not exist."
	case id == "":
		return nil, "MissingParameter", "The request is missing a required parameter `VersionId`."
	}
	for i := range vs {
		if vs[i].id == id {
			return &vs[i], "", ""
		}
	}
	return nil, "ResourceNotFound", "The version `" + id + "` of the secret `" + name + "` does not exist."
}

func (f *Tencent) listSecretVersionIds(w http.ResponseWriter, in tcInput) {
	vs, ok := f.secrets[in.SecretName]
	if !ok {
		tcFail(w, "ResourceNotFound", "The secret `"+in.SecretName+"` does not exist.")
		return
	}
	list := []map[string]any{}
	for _, v := range vs {
		list = append(list, map[string]any{"VersionId": v.id, "CreateTime": v.created})
	}
	tcOK(w, map[string]any{"SecretName": in.SecretName, "Versions": list})
}

func (f *Tencent) getSecretValue(w http.ResponseWriter, in tcInput) {
	v, code, msg := f.version(in.SecretName, in.VersionId)
	if v == nil {
		tcFail(w, code, msg)
		return
	}
	tcOK(w, map[string]any{"SecretName": in.SecretName, "VersionId": v.id, "SecretString": v.value, "SecretBinary": "", "SecretType": 0})
}

func (f *Tencent) updateSecret(w http.ResponseWriter, in tcInput) {
	v, code, msg := f.version(in.SecretName, in.VersionId)
	if v == nil {
		tcFail(w, code, msg)
		return
	}
	if in.SecretString == "" {
		tcFail(w, "InvalidParameterValue", "One of SecretString and SecretBinary must be set.")
		return
	}
	v.value = in.SecretString
	tcOK(w, map[string]any{"SecretName": in.SecretName, "VersionId": v.id})
}

func (f *Tencent) invoke(w http.ResponseWriter, in tcInput, region string) {
	namespace := cmp.Or(in.Namespace, "default")
	switch {
	case in.FunctionName == "":
		tcFail(w, "MissingParameter", "The request is missing a required parameter `FunctionName`.")
		return
	case !f.functions[namespace+"/"+in.FunctionName]:
		tcFail(w, "ResourceNotFound.Function", "The function `"+in.FunctionName+"` does not exist in namespace `"+namespace+"`.")
		return
	case in.ClientContext != "" && !json.Valid([]byte(in.ClientContext)):
		tcFail(w, "InvalidParameterValue.ClientContext", "ClientContext is not valid JSON.")
		return
	}
	inv := Invocation{FunctionName: in.FunctionName, Namespace: namespace,
		Qualifier: in.Qualifier, InvocationType: cmp.Or(in.InvocationType, "RequestResponse"),
		ClientContext: in.ClientContext, Region: region}
	f.invocations = append(f.invocations, inv)
	result := map[string]any{
		"FunctionRequestId": newID(), "InvokeResult": 0, "RetMsg": "", "ErrMsg": "",
		"MemUsage": 0, "Duration": 0, "BillDuration": 0, "Log": "",
	}
	if run := f.Run; run != nil && inv.InvocationType == "RequestResponse" {
		f.mu.Unlock() // the function may take its time, and call the fake itself
		ret, err := run(in.ClientContext)
		f.mu.Lock()
		if err != nil {
			result["InvokeResult"], result["ErrMsg"] = -1, err.Error()
		} else {
			result["RetMsg"] = ret
		}
	}
	tcOK(w, map[string]any{"Result": result})
}

// tcOK answers Tencent Cloud API v3's success shape.
func tcOK(w http.ResponseWriter, v map[string]any) {
	v["RequestId"] = newID()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"Response": v})
}

// tcFail answers Tencent Cloud API v3's error shape, with HTTP 200 as the API does.
func tcFail(w http.ResponseWriter, code, message string) {
	tcOK(w, map[string]any{"Error": map[string]string{"Code": code, "Message": message}})
}

func tcFault(w http.ResponseWriter, f Fault) {
	switch {
	case f.Drop:
		drop(w)
	case f.Body != "":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(cmp.Or(f.Status, http.StatusOK))
		io.WriteString(w, f.Body)
	case f.Code != "":
		if f.Status != 0 && f.Status != http.StatusOK {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.Status)
		}
		tcFail(w, f.Code, f.Message)
	default:
		gatewayPage(w, cmp.Or(f.Status, http.StatusBadGateway))
	}
}
