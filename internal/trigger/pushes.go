package trigger

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// duplicateWindow is how long pushes of an authorization event already taken up (the same
// appid, InfoType and CreateTime) are collapsed: WeChat's own re-pushes and a burst of copies
// come within seconds. A replay after it acts again, as the contract's section 5 says an equal
// CreateTime does.
const duplicateWindow = 30 * time.Second

// maxRemembered bounds the instance's memory of authorization events: the appids pushed least
// recently are forgotten first (about 100 bytes each).
const maxRemembered = 10_000

// pushMemory is the instance's memory of WeChat's authorization events (the contract's section
// 5, "Order"): per appid, the newest event taken up and when. Without a ledger it is the only
// memory there is; with one it saves the ledger's write for copies this instance has seen. It
// is safe for concurrent use; the zero value is ready.
type pushMemory struct {
	mu    sync.Mutex
	byApp map[string]*list.Element // of *pushTaken
	lru   list.List                // the most recently pushed appid first
}

// pushTaken is an event taken up: until done is closed it is being acted on.
type pushTaken struct {
	appid      string
	event      string
	createTime int64
	since      time.Time
	done       chan struct{}
}

// pushVerdict is what becomes of a push.
type pushVerdict int

const (
	pushAct       pushVerdict = iota // act on it
	pushStale                        // older than the newest event taken up: ignore it
	pushDuplicate                    // the same event, taken up less than duplicateWindow ago
)

// take takes up the event (appid, kind, createTime) at now, or says why not. While another
// event of the appid is being acted on, it waits for it first, so that the events of one appid
// are acted on one at a time, in order (ctx's end stops the wait: its error). done must be
// called when acting on the event has ended.
func (m *pushMemory) take(ctx context.Context, appid, kind string, createTime int64, now func() time.Time) (v pushVerdict, done func(), err error) {
	for {
		m.mu.Lock()
		if m.byApp == nil {
			m.byApp = map[string]*list.Element{}
		}
		var last *pushTaken
		if e, ok := m.byApp[appid]; ok {
			last = e.Value.(*pushTaken)
		}
		busy := last != nil && !closed(last.done)
		switch {
		case last != nil && createTime < last.createTime:
			m.mu.Unlock()
			return pushStale, nil, nil
		case last != nil && createTime == last.createTime && kind == last.event && (busy || now().Sub(last.since) < duplicateWindow):
			m.mu.Unlock()
			return pushDuplicate, nil, nil
		case busy:
			m.mu.Unlock()
			select {
			case <-last.done:
				continue
			case <-ctx.Done():
				return pushAct, nil, ctx.Err()
			}
		}
		taken := &pushTaken{appid: appid, event: kind, createTime: createTime, since: now(), done: make(chan struct{})}
		m.remember(taken)
		m.mu.Unlock()
		return pushAct, sync.OnceFunc(func() { close(taken.done) }), nil
	}
}

// remember puts t first, forgetting the least recently pushed appid beyond maxRemembered.
func (m *pushMemory) remember(t *pushTaken) {
	if e, ok := m.byApp[t.appid]; ok {
		e.Value = t
		m.lru.MoveToFront(e)
		return
	}
	m.byApp[t.appid] = m.lru.PushFront(t)
	if m.lru.Len() > maxRemembered {
		oldest := m.lru.Back()
		m.lru.Remove(oldest)
		delete(m.byApp, oldest.Value.(*pushTaken).appid)
	}
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
