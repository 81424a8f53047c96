// Package localqueue is a small SQS-like queue in a directory, for local tools and the
// benchmarks: what a deployment hands to its queue (the shards of a planned reconcile, an
// onboarding retry) is kept on this machine, and pollers drain it as the Lambda service drains
// an SQS queue. Several processes may use one directory: a message is one file, written whole
// and claimed by an atomic rename, so it is received by one poller at a time. A message that
// fails is released and received again; after MaxReceives it moves to the dead-letter
// directory, like a redrive policy. Messages are received in the order they were sent.
package localqueue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxReceives is how often a message is received before a failure moves it to the dead letters.
const MaxReceives = 5

// The directories of a queue.
const (
	readyDir    = "ready"
	inflightDir = "inflight"
	deadDir     = "dead"
)

// Queue is a queue in a directory.
type Queue struct{ dir string }

// Open opens (creating it when missing) the queue in dir.
func Open(dir string) (*Queue, error) {
	for _, d := range []string{readyDir, inflightDir, deadDir} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("localqueue: %w", err)
		}
	}
	return &Queue{dir: dir}, nil
}

// Message is a received message.
type Message struct {
	Body     string
	Receives int // how often it was received, this time included
	name     string
}

// Send enqueues body: a file written under another name, then renamed into the queue.
func (q *Queue) Send(_ context.Context, body string) error {
	name := fmt.Sprintf("%020d-%s.0", time.Now().UnixNano(), randomHex())
	tmp := filepath.Join(q.dir, "."+name)
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		return fmt.Errorf("localqueue: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(q.dir, readyDir, name)); err != nil {
		return fmt.Errorf("localqueue: %w", err)
	}
	return nil
}

// Receive claims the oldest ready message; ok is false when none is ready.
func (q *Queue) Receive() (m Message, ok bool, err error) {
	names, err := q.names(readyDir)
	if err != nil {
		return Message{}, false, err
	}
	for _, name := range names {
		base, receives := split(name)
		claimed := base + "." + strconv.Itoa(receives+1)
		err := os.Rename(filepath.Join(q.dir, readyDir, name), filepath.Join(q.dir, inflightDir, claimed))
		if errors.Is(err, fs.ErrNotExist) { // another poller claimed it first
			continue
		}
		if err != nil {
			return Message{}, false, fmt.Errorf("localqueue: %w", err)
		}
		body, err := os.ReadFile(filepath.Join(q.dir, inflightDir, claimed))
		if err != nil {
			return Message{}, false, fmt.Errorf("localqueue: %w", err)
		}
		return Message{Body: string(body), Receives: receives + 1, name: claimed}, true, nil
	}
	return Message{}, false, nil
}

// Delete removes a message that was carried out.
func (q *Queue) Delete(m Message) error {
	if err := os.Remove(filepath.Join(q.dir, inflightDir, m.name)); err != nil {
		return fmt.Errorf("localqueue: %w", err)
	}
	return nil
}

// Release makes a message that failed ready again, or moves it to the dead letters once it was
// received MaxReceives times.
func (q *Queue) Release(m Message) error {
	to := readyDir
	if m.Receives >= MaxReceives {
		to = deadDir
	}
	if err := os.Rename(filepath.Join(q.dir, inflightDir, m.name), filepath.Join(q.dir, to, m.name)); err != nil {
		return fmt.Errorf("localqueue: %w", err)
	}
	return nil
}

// Len counts the messages ready, in flight and dead.
func (q *Queue) Len() (ready, inflight, dead int, err error) {
	counts := make([]int, 3)
	for i, d := range []string{readyDir, inflightDir, deadDir} {
		names, err := q.names(d)
		if err != nil {
			return 0, 0, 0, err
		}
		counts[i] = len(names)
	}
	return counts[0], counts[1], counts[2], nil
}

// names lists a directory's messages, oldest first.
func (q *Queue) names(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(q.dir, dir))
	if err != nil {
		return nil, fmt.Errorf("localqueue: %w", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names) // zero-padded send times first
	return names, nil
}

// split reads a message file's name: its base and how often it was received.
func split(name string) (string, int) {
	i := strings.LastIndexByte(name, '.')
	n, _ := strconv.Atoi(name[i+1:])
	return name[:i], n
}

func randomHex() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
