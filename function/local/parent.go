package main

import (
	"os"
	"time"
)

// watchParent calls stop once the process's parent is no longer parent (the process was
// re-parented because its parent ended), checking every second.
func watchParent(parent int, stop func()) {
	go func() {
		for range time.Tick(time.Second) {
			if os.Getppid() != parent {
				stop()
				return
			}
		}
	}()
}
