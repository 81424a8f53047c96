package share

import (
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/envshare/envshare/pkg/wechat"
)

// pair is one (env, appid).
type pair struct{ env, appid string }

// distinctPairs lists the distinct pairs of lists in order of first appearance.
func distinctPairs(lists []wechat.EnvAppIDs) []pair {
	n := 0
	for _, l := range lists {
		n += len(l.AppIDs)
	}
	seen := make(map[pair]struct{}, n)
	out := make([]pair, 0, n)
	for _, l := range lists {
		for _, a := range l.AppIDs {
			p := pair{l.Env, a}
			if _, dup := seen[p]; !dup {
				seen[p] = struct{}{}
				out = append(out, p)
			}
		}
	}
	return out
}

// distinctStrings lists the distinct strings of list in order of first appearance.
func distinctStrings(list []string) []string {
	seen := make(map[string]struct{}, len(list))
	out := make([]string, 0, len(list))
	for _, s := range list {
		if _, dup := seen[s]; !dup {
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	return out
}

// chunks splits n items into consecutive ranges of at most size.
func chunks(n, size int) [][2]int {
	out := make([][2]int, 0, (n+size-1)/size)
	for lo := 0; lo < n; lo += size {
		out = append(out, [2]int{lo, min(lo+size, n)})
	}
	return out
}

// parallel runs fn(0..n-1) with at most Concurrency calls in flight. A panic in a goroutine
// becomes an internal error (logged) instead of killing the process: the caller's own
// recover, at its boundary, cannot see it.
func (s *Service) parallel(n int, fn func(i int)) error {
	if n == 1 { // the common one-chunk request: no goroutine to start and wait for
		fn(0)
		return nil
	}
	var g errgroup.Group
	g.SetLimit(s.opts.Concurrency)
	for i := range n {
		g.Go(func() error { return guard(func() { fn(i) }) })
	}
	return s.internal(g.Wait())
}

// guard runs job and turns a panic into an error: the one recover of a goroutine the service
// starts.
func guard(job func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in upstream call: %v", p)
		}
	}()
	job()
	return nil
}

// internal logs an unexpected failure and returns the internal error for it (nil for nil).
func (s *Service) internal(err error) error {
	if err == nil {
		return nil
	}
	s.log.Error("unexpected failure", "error", s.opts.Redact(err.Error()))
	return errInternal()
}
