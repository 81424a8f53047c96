package page

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Status page token, under the same keys and MAC as the confirmation pages' (Keys.Token):
//
//	payload = 0x02             kind byte: a status page (a confirmation page's is 0x01)
//	          uvarint made     Unix seconds
//	          uvarint lifetime seconds; the link expires at made + lifetime
//
// The kind byte is under the MAC, so a confirmation page's token never opens the status page
// (which shows the whole fleet) and a status token never opens a confirmation page.
const statusKind = 2

// The lifetimes of a status link. The page shows the whole fleet, so a link lives a day unless
// asked otherwise, and a week at most.
const (
	DefaultStatusTTL = 24 * time.Hour
	MinStatusTTL     = time.Minute
	MaxStatusTTL     = 7 * 24 * time.Hour
)

// StatusToken makes the token of a status link made at made and valid for ttl
// (MinStatusTTL..MaxStatusTTL).
func (k Keys) StatusToken(made time.Time, ttl time.Duration) (string, error) {
	if !k.Enabled() {
		return "", ErrNoKey
	}
	if ttl < MinStatusTTL || ttl > MaxStatusTTL || made.Unix() < 0 {
		return "", fmt.Errorf("%w: status link lifetime %s is not within %s..%s", ErrLink, ttl, MinStatusTTL, MaxStatusTTL)
	}
	p := make([]byte, 0, 1+2*binary.MaxVarintLen64)
	p = append(p, statusKind)
	p = binary.AppendUvarint(p, uint64(made.Unix()))
	p = binary.AppendUvarint(p, uint64(ttl/time.Second))
	return seal(k.Current, p), nil
}

// OpenStatus verifies a status token at now and returns when its link expires.
// Errors: ErrInvalid, ErrExpired, as Open's.
func (k Keys) OpenStatus(token string, now time.Time) (expires time.Time, err error) {
	p, ok := k.unseal(token)
	if !ok || len(p) < 1 || p[0] != statusKind {
		return time.Time{}, ErrInvalid
	}
	p = p[1:]
	made, n := binary.Uvarint(p)
	if n <= 0 || made > 1<<40 {
		return time.Time{}, ErrInvalid
	}
	secs, m := binary.Uvarint(p[n:])
	if m <= 0 || n+m != len(p) || secs < uint64(MinStatusTTL/time.Second) || secs > uint64(MaxStatusTTL/time.Second) {
		return time.Time{}, ErrInvalid
	}
	expires = time.Unix(int64(made), 0).UTC().Add(time.Duration(secs) * time.Second)
	if !now.Before(expires) {
		return time.Time{}, ErrExpired
	}
	return expires, nil
}
