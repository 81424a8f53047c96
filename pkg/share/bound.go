package share

import (
	"context"
	"log/slog"
)

// DefaultMaxResults is how many entries an answer lists at most: a result must stay far below
// the platforms' 6 MB limit of a synchronous answer whatever the request.
const DefaultMaxResults = 1000

// attention ranks a status: the entries a person has to look at come first.
func attention(status Status) int {
	switch status {
	case StatusFailed:
		return 0
	case StatusPendingConfirmation, StatusAwaitingConfirmation:
		return 1
	case StatusDeferred:
		return 2
	case StatusWouldShare, StatusWouldUnshare:
		return 3
	default:
		return 4
	}
}

const ranks = 5

// bound lists res.Results attention-first (their own order within a rank) and keeps at most
// s.opts.MaxResults of them. The others are written to the log, one JSON line each, so that
// nothing is lost, and counted in ResultsOmitted. It runs in O(n) and allocates only the kept
// list.
func (s *Service) bound(ctx context.Context, res *Result) {
	if len(res.Results) == 0 {
		return
	}
	var count [ranks]int
	for _, o := range res.Results {
		count[attention(o.Status)]++
	}
	// Room left for each rank, in rank order.
	var room [ranks]int
	left := s.opts.MaxResults
	for r := range ranks {
		room[r] = min(count[r], left)
		left -= room[r]
	}
	var start [ranks]int // where each rank begins in the kept list
	for r := 1; r < ranks; r++ {
		start[r] = start[r-1] + room[r-1]
	}
	kept := make([]Outcome, start[ranks-1]+room[ranks-1])
	for _, o := range res.Results {
		r := attention(o.Status)
		if room[r] > 0 {
			kept[start[r]] = o
			start[r]++
			room[r]--
			continue
		}
		res.ResultsOmitted++
		s.logOmitted(ctx, res.Action, o)
	}
	res.Results = kept
}

// logOmitted writes one entry left out of an answer.
func (s *Service) logOmitted(ctx context.Context, action string, o Outcome) {
	attrs := []slog.Attr{slog.String("action", action), slog.String("env", o.Env),
		slog.String("appid", o.AppID), slog.String("status", string(o.Status))}
	if o.ConfirmURL != "" {
		attrs = append(attrs, slog.String("confirm_url", o.ConfirmURL))
	}
	if o.Error != nil {
		attrs = append(attrs, slog.String("error_code", string(o.Error.Code)), slog.String("error", o.Error.Message))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "result left out of the answer", attrs...)
}
