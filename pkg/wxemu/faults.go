package wxemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// FaultKind names what a Fault does to a call.
type FaultKind string

const (
	FaultBusy    FaultKind = "busy"    // errcode -1 "system error", HTTP 200
	FaultErrCode FaultKind = "errcode" // errcode Code (e.g. 45011, 45009, 61004), HTTP 200
	FaultHTTP5xx FaultKind = "http5xx" // HTTP Status (default 503) with a non-JSON body
	FaultLatency FaultKind = "latency" // wait Delay, then answer normally
	FaultDrop    FaultKind = "drop"    // close the connection without an answer
)

// Fault disturbs the calls to one endpoint, or to all of them.
//
// A call consumes every matching latency fault (their delays add up) and then the first
// matching fault of any other kind, which decides the answer. Faults apply before any
// other check, token and method included.
type Fault struct {
	Endpoint string        // "batchshareenv", ... or its path; "" or "*" = every endpoint
	Kind     FaultKind     //
	Code     int           // errcode, for FaultErrCode
	Status   int           // HTTP status, for FaultHTTP5xx (500-599, default 503)
	Delay    time.Duration // for FaultLatency; JSON "250ms"
	Times    int           // calls to disturb; 0 = every call, forever
}

// faultJSON is Fault's JSON form: Delay as a Go duration string.
type faultJSON struct {
	Endpoint string    `json:"endpoint,omitempty"`
	Kind     FaultKind `json:"kind"`
	Code     int       `json:"code,omitempty"`
	Status   int       `json:"status,omitempty"`
	Delay    string    `json:"delay,omitempty"`
	Times    int       `json:"times,omitempty"`
}

// MarshalJSON writes Delay as a duration string.
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{Endpoint: f.Endpoint, Kind: f.Kind, Code: f.Code, Status: f.Status, Times: f.Times}
	if f.Delay != 0 {
		j.Delay = f.Delay.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads Delay as a duration string such as "250ms".
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a typo such as "time" must not make a fault last forever
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("fault: %w", err)
	}
	*f = Fault{Endpoint: j.Endpoint, Kind: j.Kind, Code: j.Code, Status: j.Status, Times: j.Times}
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil {
			return fmt.Errorf("fault delay: %w", err)
		}
		f.Delay = d
	}
	return nil
}

// validate checks f and returns it with its endpoint normalised ("" = all) and defaults set.
func (f Fault) validate() (Fault, error) {
	if f.Endpoint == "*" {
		f.Endpoint = ""
	}
	if f.Endpoint != "" {
		ep, ok := endpointOf(f.Endpoint)
		if !ok {
			return f, fmt.Errorf("fault: unknown endpoint %q", f.Endpoint)
		}
		f.Endpoint = ep
	}
	if f.Times < 0 {
		return f, fmt.Errorf("fault: negative times %d", f.Times)
	}
	switch f.Kind {
	case FaultBusy, FaultDrop:
	case FaultErrCode:
		if f.Code == 0 {
			return f, fmt.Errorf("fault errcode: code must not be 0")
		}
	case FaultHTTP5xx:
		if f.Status == 0 {
			f.Status = 503
		}
		if f.Status < 500 || f.Status > 599 {
			return f, fmt.Errorf("fault http5xx: status %d is not 5xx", f.Status)
		}
	case FaultLatency:
		if f.Delay <= 0 {
			return f, fmt.Errorf("fault latency: delay must be positive")
		}
	default:
		return f, fmt.Errorf("fault: unknown kind %q (want busy, errcode, http5xx, latency or drop)", f.Kind)
	}
	return f, nil
}

// activeFault is a Fault with the number of calls it still disturbs.
type activeFault struct {
	Fault
	left int // meaningful when Times > 0
}

func newActiveFaults(fs []Fault) ([]*activeFault, error) {
	var out []*activeFault
	for _, f := range fs {
		v, err := f.validate()
		if err != nil {
			return nil, err
		}
		out = append(out, &activeFault{Fault: v, left: v.Times})
	}
	return out, nil
}

// AddFault adds a fault after the existing ones.
func (e *Emulator) AddFault(f Fault) error {
	active, err := newActiveFaults([]Fault{f})
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, active...)
	return nil
}

// ClearFaults removes every fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
}

// Faults returns the remaining faults; Times is what is left of each.
func (e *Emulator) Faults() []Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.faultsLocked()
}

func (e *Emulator) faultsLocked() []Fault {
	var out []Fault
	for _, f := range e.faults {
		v := f.Fault
		if v.Times > 0 {
			v.Times = f.left
		}
		out = append(out, v)
	}
	return out
}

// takeFaults consumes the faults for one call to endpoint: the summed delay of the latency
// faults and the first other fault (nil if none).
func (e *Emulator) takeFaults(endpoint string) (delay time.Duration, decisive *Fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	kept := e.faults[:0]
	for _, f := range e.faults {
		match := f.Endpoint == "" || f.Endpoint == endpoint
		if match && f.Kind == FaultLatency {
			delay += f.Delay
		} else if match && decisive == nil {
			v := f.Fault
			decisive = &v
		} else {
			match = false
		}
		if match && f.Times > 0 {
			if f.left--; f.left == 0 {
				continue
			}
		}
		kept = append(kept, f)
	}
	clear(e.faults[len(kept):])
	e.faults = kept
	return delay, decisive
}
