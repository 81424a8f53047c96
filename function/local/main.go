// Command local runs envshare on this machine against the embedded WeChat emulator
// (pkg/wxemu). It is a development tool: the deployed binaries (function/aws, function/scf)
// never start the emulator and never default to it.
//
//	local run [-v]                            the closed loop and every action, step by step
//	local serve [-addr ADDR] [-emulator ADDR] a local deployment for curl and a browser
//	local invoke [-state FILE] EVENT.json     one sample event through its platform's binary
//	local emulator [-addr ADDR]               only the WeChat emulator
//
// Exported ENVSHARE_* settings win over the local defaults; they are checked as a deployed
// function checks them, and the effective configuration is printed (secrets masked) at start.
// Everything listens on 127.0.0.1 only. The process stops cleanly on SIGINT or SIGTERM, and
// when its parent (make) ends.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	endWithParent(stop)
	if err := run(ctx, os.Stdout, os.Args[1:]); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("stopped by a signal (%w)", err)
		}
		fmt.Fprintln(os.Stderr, "local:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, args []string) error {
	if len(args) == 0 {
		args = []string{"run"}
	}
	switch args[0] {
	case "run":
		return demo(ctx, out, args[1:])
	case "invoke":
		return invoke(ctx, out, args[1:])
	case "serve":
		return serve(ctx, out, args[1:])
	case "emulator":
		return emulator(ctx, out, args[1:])
	default:
		return fmt.Errorf("unknown command %q: use run, invoke EVENT, serve or emulator", args[0])
	}
}
