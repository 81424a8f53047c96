package tencentstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// DefaultNamespace is SCF's namespace when SCF_NAMESPACE is empty.
const DefaultNamespace = "default"

// Invoker invokes one SCF function asynchronously: the function itself, for the onboarding retry.
type Invoker struct {
	c         *client
	function  string
	namespace string
}

// NewInvoker checks the names and options; the environment is read at every call. function and
// namespace are the function's own SCF_FUNCTIONNAME and SCF_NAMESPACE.
func NewInvoker(function, namespace string, opts ...Option) (*Invoker, error) {
	if function == "" {
		return nil, errors.New("tencentstore: the function name is empty")
	}
	c, err := newClient(scfAPI, opts)
	if err != nil {
		return nil, err
	}
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return &Invoker{c: c, function: function, namespace: namespace}, nil
}

// Invoke starts the function with message (JSON) as its event, without waiting for it
// (InvocationType "Event"): SCF answers once the event is queued, and retries a failed async
// invocation by the function's own retry settings. An attempt repeated after a lost answer may
// start it twice: the event's action must be idempotent.
// Needs scf:InvokeFunction on the function.
func (i *Invoker) Invoke(ctx context.Context, message string) error {
	if !json.Valid([]byte(message)) {
		return fmt.Errorf("scf.Invoke %q: the message is not JSON", i.function)
	}
	params := map[string]any{
		"FunctionName":   i.function,
		"Namespace":      i.namespace,
		"InvocationType": "Event",
		"ClientContext":  message,
	}
	if q := i.c.opts.Qualifier; q != "" {
		params["Qualifier"] = q
	}
	out, err := call[struct {
		Result *struct {
			FunctionRequestId string
			InvokeResult      int64
		}
	}](ctx, i.c, "Invoke", i.function, params, message)
	if err != nil {
		return err
	}
	if out.Result != nil && out.Result.InvokeResult != 0 {
		// Its ErrMsg is not reported: it may quote the event.
		return fmt.Errorf("scf.Invoke %q: InvokeResult %d (request %s)", i.function, out.Result.InvokeResult, out.Result.FunctionRequestId)
	}
	return nil
}
