// Command local runs envshare on this machine against the embedded WeChat emulator
// (pkg/wxemu). It is a development tool: the deployed binaries (function/aws, function/scf)
// never start the emulator and never default to it.
//
//	local run                       demo: share with mixed outcomes, bindings, reconcile
//	local invoke EVENT.json         run one sample event through its platform's binary
//	local serve [-addr ADDR]        serve the HTTP routes on 127.0.0.1 for curl
//	local emulator [-addr ADDR]     run only the WeChat emulator
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		args = []string{"run"}
	}
	switch args[0] {
	case "run":
		return demo(ctx, os.Stdout, args[1:])
	case "invoke":
		return invoke(ctx, os.Stdout, args[1:])
	case "serve":
		return serve(ctx, os.Stdout, args[1:])
	case "emulator":
		return emulator(ctx, os.Stdout, args[1:])
	default:
		return fmt.Errorf("unknown command %q: use run, invoke EVENT, serve or emulator", args[0])
	}
}
