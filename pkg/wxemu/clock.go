package wxemu

import (
	"sync"
	"time"
)

// Clock is a settable clock for tests: its Now is what Options.Now wants, and it only moves
// when the test says so, so a test can live through hours of token expiry, ticket age and
// mint grace in no time, and give the code under test the same clock. It is safe for
// concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock showing start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
