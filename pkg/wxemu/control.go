package wxemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"time"
)

// controlMux serves the /__emu/ endpoints (documented in doc.go).
func (e *Emulator) controlMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /__emu/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.State())
	})
	mux.HandleFunc("POST /__emu/state", func(w http.ResponseWriter, r *http.Request) {
		if err := e.LoadState(http.MaxBytesReader(w, r.Body, maxBodyBytes)); err != nil {
			writeJSON(w, http.StatusBadRequest, controlError{err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, okBody{true})
	})
	mux.HandleFunc("GET /__emu/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, faultList{e.Faults()})
	})
	mux.HandleFunc("POST /__emu/faults", func(w http.ResponseWriter, r *http.Request) {
		faults, err := decodeFaults(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err == nil {
			_, err = newActiveFaults(faults) // all or none
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, controlError{err.Error()})
			return
		}
		for _, f := range faults {
			_ = e.AddFault(f) // validated above
		}
		writeJSON(w, http.StatusOK, faultList{e.Faults()})
	})
	mux.HandleFunc("DELETE /__emu/faults", func(w http.ResponseWriter, r *http.Request) {
		e.ClearFaults()
		writeJSON(w, http.StatusOK, okBody{true})
	})
	mux.HandleFunc("POST /__emu/rotate", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, rotated{e.RotateToken()})
	})
	mux.HandleFunc("GET /__emu/calls", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.callReport())
	})
	mux.HandleFunc("DELETE /__emu/calls", func(w http.ResponseWriter, r *http.Request) {
		e.ResetCalls()
		writeJSON(w, http.StatusOK, okBody{true})
	})
	mux.HandleFunc("POST /__emu/push-ticket", func(w http.ResponseWriter, r *http.Request) {
		_, err := e.PushTicket(r.Context())
		writePushResult(w, err)
	})
	mux.HandleFunc("POST /__emu/authorize", func(w http.ResponseWriter, r *http.Request) {
		var req appRequest
		if err := decodeStrict(http.MaxBytesReader(w, r.Body, maxBodyBytes), &req); err != nil {
			writeJSON(w, http.StatusBadRequest, controlError{err.Error()})
			return
		}
		writePushResult(w, e.Authorize(r.Context(), req.AppID, req.App))
	})
	mux.HandleFunc("POST /__emu/revoke", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			AppID string `json:"appid"`
		}
		if err := decodeStrict(http.MaxBytesReader(w, r.Body, maxBodyBytes), &req); err != nil {
			writeJSON(w, http.StatusBadRequest, controlError{err.Error()})
			return
		}
		writePushResult(w, e.Revoke(r.Context(), req.AppID))
	})
	mux.HandleFunc("GET /__emu/pushes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, pushList{Pushes: append([]Push{}, e.Pushes()...)})
	})
	mux.HandleFunc("GET /__emu/quota", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, quotaList{e.Quotas()})
	})
	mux.HandleFunc("POST /__emu/quota", func(w http.ResponseWriter, r *http.Request) {
		var c QuotaChange
		err := decodeStrict(http.MaxBytesReader(w, r.Body, maxBodyBytes), &c)
		var u QuotaUsage
		if err == nil {
			u, err = e.ChangeQuota(c)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, controlError{err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, u)
	})
	mux.HandleFunc("DELETE /__emu/quota", func(w http.ResponseWriter, r *http.Request) {
		e.ResetQuotaUsage()
		writeJSON(w, http.StatusOK, okBody{true})
	})
	mux.HandleFunc("GET /__emu/confirm/{id}", func(w http.ResponseWriter, r *http.Request) {
		env, appid, ok := e.Confirm(r.PathValue("id"))
		if !ok {
			writeJSON(w, http.StatusNotFound, controlError{"unknown or already used confirmation link"})
			return
		}
		writeJSON(w, http.StatusOK, confirmed{true, env, appid})
	})
	return mux
}

type (
	okBody struct {
		OK bool `json:"ok"`
	}
	controlError struct {
		Error string `json:"error"`
	}
	faultList struct {
		Faults []Fault `json:"faults"`
	}
	rotated struct {
		AccessToken string `json:"access_token"`
	}
	confirmed struct {
		OK    bool   `json:"ok"`
		Env   string `json:"env"`
		AppID string `json:"appid"`
	}
	// CallReport is the answer of GET /__emu/calls. Counts counts every call, refused ones
	// included; Mints only the successful api_component_token calls.
	CallReport struct {
		Counts map[string]int `json:"counts"`
		Mints  int            `json:"mints"`
		Calls  []Call         `json:"calls"`
	}
	pushList struct {
		Pushes []Push `json:"pushes"`
	}
	quotaList struct {
		Quotas []QuotaUsage `json:"quotas"`
	}
	// appRequest is the body of POST /__emu/authorize: an appid and, optionally, App's fields.
	appRequest struct {
		AppID string `json:"appid"`
		App
	}
)

// writePushResult answers a push control request: 200 when acknowledged, 404 for an
// unknown app, 409 when pushes are not configured, 502 when the push was not acknowledged.
func writePushResult(w http.ResponseWriter, err error) {
	status := http.StatusOK
	switch {
	case err == nil:
		writeJSON(w, status, okBody{true})
		return
	case errors.Is(err, ErrUnknownApp):
		status = http.StatusNotFound
	case errors.Is(err, ErrPushConfig):
		status = http.StatusConflict
	case errors.Is(err, ErrPushFailed):
		status = http.StatusBadGateway
	default:
		status = http.StatusBadRequest
	}
	writeJSON(w, status, controlError{err.Error()})
}

// decodeStrict decodes one JSON object and refuses unknown fields.
func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

func (e *Emulator) callReport() CallReport {
	e.mu.Lock()
	defer e.mu.Unlock()
	rep := CallReport{Counts: map[string]int{}, Mints: e.mints, Calls: append([]Call{}, e.calls...)}
	for ep, n := range e.counts {
		rep.Counts[ep] = n
	}
	return rep
}

// decodeFaults reads one Fault object or an array of them.
func decodeFaults(r io.Reader) ([]Fault, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	raw = bytes.TrimSpace(raw)
	dec := json.NewDecoder(bytes.NewReader(raw))
	if bytes.HasPrefix(raw, []byte("[")) {
		var fs []Fault
		err = dec.Decode(&fs)
		return fs, err
	}
	var f Fault
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	return []Fault{f}, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Start serves the emulator on 127.0.0.1 at a free port; call stop when done.
func (e *Emulator) Start() (baseURL string, stop func()) {
	srv := httptest.NewServer(e)
	return srv.URL, srv.Close
}

// ServeTest starts the emulator for one test (or benchmark) and stops it at its cleanup.
func (e *Emulator) ServeTest(tb interface{ Cleanup(func()) }) (baseURL string) {
	baseURL, stop := e.Start()
	tb.Cleanup(stop)
	return baseURL
}

// ListenAndServe serves the emulator on addr until ctx is done. An addr without host
// (":8081") listens on 127.0.0.1 only: the emulator has no authentication.
func ListenAndServe(ctx context.Context, addr string, e *Emulator) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("wxemu: listen address: %w", err)
	}
	if host == "" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("wxemu: %w", err)
	}
	return Serve(ctx, ln, e)
}

// Serve serves the emulator on ln until ctx is done, then shuts down gracefully; calls
// waiting on latency are cancelled.
func Serve(ctx context.Context, ln net.Listener, e *Emulator) error {
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("wxemu: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("wxemu: shutdown: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("wxemu: %w", err)
	}
	return nil
}
