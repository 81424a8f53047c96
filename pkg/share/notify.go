package share

import "context"

// maxLinksPerNotification bounds one notification's body: a reconcile of 200,000 pending pairs
// is delivered in POSTs of at most this many links, never one body of tens of megabytes.
const maxLinksPerNotification = 500

// notify hands the pending_confirmation outcomes of out to the Notifier, in batches. It
// returns nil when there is no Notifier or nothing to deliver. A failure is logged and
// reported, never fatal. Each batch is copied out of out when its turn comes, and an entry
// without its confirmation page yet gets it in the copy: a reconcile may have 200,000 links,
// and neither a list of them all nor all their pages should exist at once.
func (s *Service) notify(ctx context.Context, action string, out []Outcome) *Notification {
	if s.opts.Notifier == nil {
		return nil
	}
	links := 0
	for _, o := range out {
		if o.Status == StatusPendingConfirmation {
			links++
		}
	}
	if links == 0 {
		return nil
	}
	n := &Notification{Sent: true, Links: links}
	next := 0 // where the next batch's search in out begins
	for delivered := 0; delivered < links; {
		// A new slice each time: a Notifier may keep the batch it was given.
		batch := make([]Outcome, 0, min(links-delivered, maxLinksPerNotification))
		for ; len(batch) < cap(batch); next++ {
			if out[next].Status == StatusPendingConfirmation {
				o := out[next]
				if o.ConfirmPage == "" && o.ConfirmURL != "" && s.opts.ConfirmPage != nil {
					o.ConfirmPage = s.opts.ConfirmPage(o)
				}
				batch = append(batch, o)
			}
		}
		if err := s.opts.Notifier.Notify(ctx, action, batch); err != nil {
			n.Sent, n.Error = false, s.upstreamText(err.Error())
			s.log.WarnContext(ctx, "notification failed", "action", action, "links", n.Links,
				"delivered", delivered, "error", n.Error)
			return n
		}
		delivered += len(batch)
	}
	s.log.InfoContext(ctx, "notification sent", "action", action, "links", n.Links)
	return n
}
