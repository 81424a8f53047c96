package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/pkg/redact"
)

// State is the state record (ENVSHARE_STATE_ID) that the ticket writer and the one minter
// share: JSON {"component_verify_ticket", "ticket_create_time", "component_access_token",
// "expires_at", "minted_at"}, times as RFC 3339. Fields it does not know are kept as read.
type State struct {
	Ticket        string    // component_verify_ticket, as WeChat last pushed it
	TicketCreated time.Time // ticket_create_time: the push's CreateTime
	Token         string    // component_access_token
	ExpiresAt     time.Time // expires_at
	MintedAt      time.Time // minted_at
	// The minter's lease (minting_by, minting_until): a refresh about to mint says so first,
	// so that a second refresh at the same time does not mint too (see Refresher.Refresh).
	MintingBy    string
	MintingUntil time.Time

	other map[string]json.RawMessage
}

// fields maps the JSON names of State to its fields.
func (s *State) fields() (str map[string]*string, times map[string]*time.Time) {
	return map[string]*string{"component_verify_ticket": &s.Ticket, "component_access_token": &s.Token, "minting_by": &s.MintingBy},
		map[string]*time.Time{"ticket_create_time": &s.TicketCreated, "expires_at": &s.ExpiresAt, "minted_at": &s.MintedAt,
			"minting_until": &s.MintingUntil}
}

// leased reports whether a minter other than id holds the lease at now.
func (s State) leased(id string, now time.Time) bool {
	return s.MintingBy != "" && s.MintingBy != id && now.Before(s.MintingUntil)
}

// errMalformedState says the record is not the JSON object it must be; it never quotes it.
var errMalformedState = errors.New(`the state record is not a JSON object of the fields component_verify_ticket, ` +
	`ticket_create_time, component_access_token, expires_at, minted_at (create it holding {})`)

// parseState reads a state record; an empty one ("" or {}) is the zero State.
func parseState(raw string) (State, error) {
	var s State
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return s, nil
	}
	if err := json.Unmarshal([]byte(raw), &s.other); err != nil || s.other == nil {
		return State{}, errMalformedState
	}
	strs, times := s.fields()
	for name, p := range strs {
		if v, ok := s.other[name]; ok {
			if json.Unmarshal(v, p) != nil {
				return State{}, fmt.Errorf("%w: %s is not a string", errMalformedState, name)
			}
			delete(s.other, name)
		}
	}
	for name, p := range times {
		if v, ok := s.other[name]; ok {
			var text string
			if json.Unmarshal(v, &text) != nil {
				return State{}, fmt.Errorf("%w: %s is not an RFC 3339 time", errMalformedState, name)
			}
			if text != "" {
				t, err := time.Parse(time.RFC3339Nano, text)
				if err != nil {
					return State{}, fmt.Errorf("%w: %s is not an RFC 3339 time", errMalformedState, name)
				}
				*p = t
			}
			delete(s.other, name)
		}
	}
	return s, nil
}

// encode writes the record, with the fields of other writers as they were read.
func (s State) encode() (string, error) {
	out := make(map[string]any, len(s.other)+5)
	for k, v := range s.other {
		out[k] = v
	}
	strs, times := s.fields()
	for name, p := range strs {
		if *p != "" {
			out[name] = *p
		}
	}
	for name, p := range times {
		if !p.IsZero() {
			out[name] = p.UTC().Format(time.RFC3339Nano)
		}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// StateRecord reads and writes the state record in its store.
type StateRecord struct {
	Store   store.Store
	ID      string
	Secrets *redact.Set // learns the token and ticket read
}

// Read returns the record's current content.
func (r StateRecord) Read(ctx context.Context) (State, error) {
	s, err := readRecord(ctx, r.Store, r.ID, "state record", r.Secrets, parseState)
	if err != nil {
		return State{}, err
	}
	r.Secrets.Add(s.Token, s.Ticket)
	return s, nil
}

// readRecord reads the record id from st and parses it; what names the record in errors, whose
// store errors are redacted of secrets.
func readRecord[T any](ctx context.Context, st store.Store, id, what string, secrets *redact.Set, parse func(string) (T, error)) (T, error) {
	var zero T
	raw, err := st.Get(ctx, id)
	if err != nil {
		return zero, fmt.Errorf("read the %s %q: %w", what, id, secrets.Error(err))
	}
	v, err := parse(raw)
	if err != nil {
		return zero, fmt.Errorf("%s %q: %w", what, id, err)
	}
	return v, nil
}

// Write replaces the record's content with s.
func (r StateRecord) Write(ctx context.Context, s State) error {
	r.Secrets.Add(s.Token, s.Ticket)
	value, err := s.encode()
	if err != nil {
		return fmt.Errorf("encode the state record: %w", err)
	}
	if err := r.Store.Put(ctx, r.ID, value); err != nil {
		return fmt.Errorf("write the state record %q: %w", r.ID, r.Secrets.Error(err))
	}
	return nil
}
