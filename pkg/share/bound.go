package share

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
)

// DefaultMaxResults is how many entries an answer lists at most: a result must stay far below
// the platforms' 6 MB limit of a synchronous answer whatever the request.
const DefaultMaxResults = 1000

// MaxAnswerBytes is the most bytes an answer takes as the platform returns it, envelope
// included, whatever MaxResults says: the 6 MB AWS Lambda and Tencent SCF allow a synchronous
// answer.
const MaxAnswerBytes = 6_000_000

// AnswerLimit says how many bytes an answer may take as the platform returns it.
type AnswerLimit struct {
	Bytes      int  // the most bytes, envelope included (MaxAnswerBytes when 0; an ALB takes 1,000,000)
	InEnvelope bool // the answer is the JSON string body of an HTTP envelope
}

type answerLimitKey struct{}

// WithAnswerLimit returns ctx carrying the answer limit of the invocation.
func WithAnswerLimit(ctx context.Context, l AnswerLimit) context.Context {
	return context.WithValue(ctx, answerLimitKey{}, l)
}

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
	if o.ConfirmPage != "" {
		attrs = append(attrs, slog.String("confirm_page", o.ConfirmPage))
	}
	if o.Error != nil {
		attrs = append(attrs, slog.String("error_code", string(o.Error.Code)), slog.String("error", o.Error.Message))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "result left out of the answer", attrs...)
}

// envelopeReserve is kept free for what surrounds an answer: an HTTP envelope's status, headers
// (an ALB's multiValueHeaders too) and the runtime's framing.
const envelopeReserve = 4096

// answerLimit is the invocation's limit, or an HTTP envelope's of MaxAnswerBytes (the tighter
// way of counting) when none was given.
func answerLimit(ctx context.Context) AnswerLimit {
	l, ok := ctx.Value(answerLimitKey{}).(AnswerLimit)
	if !ok {
		l.InEnvelope = true
	}
	if l.Bytes <= 0 || l.Bytes > MaxAnswerBytes {
		l.Bytes = MaxAnswerBytes
	}
	return l
}

// boundBytes leaves out of res what does not fit the invocation's AnswerLimit, counted as the
// platform returns it: the entries listed last (the least attention: bound ordered them; for
// bindings, the bindings before the errors), each written to the log and counted in
// ResultsOmitted like those bound left out.
func (s *Service) boundBytes(ctx context.Context, res *Result) {
	limit := answerLimit(ctx)
	sizer := newSizer(limit.InEnvelope)
	// The answer without its entries, with room for the largest results_omitted.
	results, bindings, errs, omitted := res.Results, res.Bindings, res.Errors, res.ResultsOmitted
	res.Results, res.ResultsOmitted = []Outcome{}, 1<<31
	if res.Bindings != nil {
		res.Results, res.Bindings, res.Errors = nil, []Binding{}, []BindingError{}
	}
	left := limit.Bytes - envelopeReserve - sizer.size(res)
	res.Results, res.Bindings, res.Errors, res.ResultsOmitted = results, bindings, errs, omitted

	keep := func(n int, size func(i int) int) int { // how many of n entries fit in left
		for i := range n {
			if left -= size(i) + 1; left < 0 { // + the comma
				return i
			}
		}
		return n
	}
	n := keep(len(res.Results), func(i int) int { return sizer.size(res.Results[i]) })
	for _, o := range res.Results[n:] {
		s.logOmitted(ctx, res.Action, o)
	}
	res.ResultsOmitted += len(res.Results) - n
	res.Results = res.Results[:n:n]

	e := keep(len(res.Errors), func(i int) int { return sizer.size(res.Errors[i]) })
	b := keep(len(res.Bindings), func(i int) int { return sizer.size(res.Bindings[i]) })
	if e < len(res.Errors) {
		b = 0 // errors first: no binding is listed while an error is left out
	}
	for _, x := range res.Errors[e:] {
		s.log.LogAttrs(ctx, slog.LevelInfo, "result left out of the answer", slog.String("action", res.Action),
			slog.String("appid", x.AppID), slog.String("error_code", string(x.Error.Code)), slog.String("error", x.Error.Message))
	}
	for _, x := range res.Bindings[b:] {
		s.log.LogAttrs(ctx, slog.LevelInfo, "result left out of the answer", slog.String("action", res.Action),
			slog.String("appid", x.AppID), slog.Any("envs", x.Envs))
	}
	res.ResultsOmitted += len(res.Errors) - e + len(res.Bindings) - b
	if res.Bindings != nil {
		res.Errors, res.Bindings = res.Errors[:e:e], res.Bindings[:b:b]
	}
}

// sizer counts the bytes a value takes as the platform returns it: its JSON as the function
// writes it (no HTML escaping), with every < > & as a runtime that escapes HTML writes it
// (\u003c: SCF's runtime does) and, in an HTTP envelope, every quote and backslash escaped once
// more (the body is a JSON string there).
type sizer struct {
	inEnvelope bool
	buf        bytes.Buffer
	enc        *json.Encoder
}

func newSizer(inEnvelope bool) *sizer {
	s := &sizer{inEnvelope: inEnvelope}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	return s
}

func (s *sizer) size(v any) int {
	s.buf.Reset()
	if err := s.enc.Encode(v); err != nil {
		return MaxAnswerBytes // never listed
	}
	b := bytes.TrimSuffix(s.buf.Bytes(), []byte("\n"))
	n := len(b)
	for _, c := range b {
		switch c {
		case '<', '>', '&':
			n += 5
		case '"', '\\':
			if s.inEnvelope {
				n++
			}
		}
	}
	return n
}
