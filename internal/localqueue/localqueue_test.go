package localqueue

import (
	"fmt"
	"sync"
	"testing"
)

func TestMessagesAreReceivedInOrderOnceAndRedrivenInTheEnd(t *testing.T) {
	q, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := q.Send(t.Context(), fmt.Sprintf(`{"n":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	m, ok, err := q.Receive()
	if err != nil || !ok || m.Body != `{"n":0}` || m.Receives != 1 {
		t.Fatalf("first receive %+v %v %v", m, ok, err)
	}
	if err := q.Delete(m); err != nil {
		t.Fatal(err)
	}
	// One message fails every time: it comes back until MaxReceives, then is a dead letter.
	for i := 1; i <= MaxReceives; i++ {
		m, ok, err := q.Receive()
		if err != nil || !ok || m.Body != `{"n":1}` || m.Receives != i {
			t.Fatalf("receive %d: %+v %v %v", i, m, ok, err)
		}
		if err := q.Release(m); err != nil {
			t.Fatal(err)
		}
	}
	if ready, inflight, dead, err := q.Len(); err != nil || ready != 1 || inflight != 0 || dead != 1 {
		t.Fatalf("ready %d, in flight %d, dead %d, %v", ready, inflight, dead, err)
	}
}

func TestConcurrentPollersReceiveEachMessageOnce(t *testing.T) {
	q, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		if err := q.Send(t.Context(), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				m, ok, err := q.Receive()
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				seen[m.Body]++
				mu.Unlock()
				if err := q.Delete(m); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d distinct messages received, want %d", len(seen), n)
	}
	for body, k := range seen {
		if k != 1 {
			t.Fatalf("message %s received %d times", body, k)
		}
	}
}
