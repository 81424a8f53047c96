package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/envshare/envshare/pkg/wxemu"
)

// Local settings: the token the emulator accepts and the bearer secret of the local routes.
const (
	localToken  = "local-component-access-token"
	localSecret = "local-http-secret"
)

// startEmulator starts the emulator with the demo fleet on 127.0.0.1.
func startEmulator(state string) (emu *wxemu.Emulator, baseURL string, stop func(), err error) {
	emu = wxemu.New(wxemu.Options{Tokens: []string{localToken}, Strict: true})
	if state != "" {
		err = emu.SeedFile(state)
	} else {
		err = emu.Seed(wxemu.DemoState())
	}
	if err != nil {
		return nil, "", nil, fmt.Errorf("seed emulator: %w", err)
	}
	baseURL, stop = emu.Start()
	return emu, baseURL, stop, nil
}

// localEnv is the configuration that points the function at the emulator.
func localEnv(baseURL string) map[string]string {
	return map[string]string{
		"ENVSHARE_WECHAT_BASE_URL":        baseURL,
		"ENVSHARE_TOKEN_MODE":             "env",
		"ENVSHARE_COMPONENT_ACCESS_TOKEN": localToken,
		"ENVSHARE_HTTP_AUTH":              "bearer",
		"ENVSHARE_HTTP_SECRET":            localSecret,
		"ENVSHARE_MANIFEST":               demoManifest,
	}
}

// setEnv applies env to this process, as the platforms do before the first invocation.
func setEnv(env map[string]string) error {
	for k, v := range env {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}

// logger writes the function's JSON logs to stderr when verbose, else nowhere.
func logger(verbose bool) *slog.Logger {
	var w io.Writer = io.Discard
	if verbose {
		w = os.Stderr
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
