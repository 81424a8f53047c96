package token

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/envshare/envshare/pkg/statetoken"
	"github.com/envshare/envshare/pkg/statetoken/awsstate"
	"github.com/envshare/envshare/pkg/statetoken/tencentstate"
)

// publicStore is pkg/statetoken's store of the same record (its tests cannot use the fakes of
// internal/store: pkg/ imports nothing of internal/, its tests neither).
func publicStore(name, url string) statetoken.Store {
	switch name {
	case "aws-secretsmanager":
		return awsstate.NewSecretsManager(awsstate.Options{}) // the fake's AWS_ENDPOINT_URL and credentials
	case "aws-ssm":
		return awsstate.NewParameters(awsstate.Options{})
	case "tencent-ssm":
		return tencentstate.NewSSM(tencentstate.Options{Endpoint: url})
	}
	return statetoken.File{}
}

// TestThePublicPackageReadsTheStateRecordOnEveryStore: what envshare's minter writes into the
// state record, pkg/statetoken reads from each store of the contract's section 6: the token
// and its expiry; an expired token and a record without one are refused; no error holds the
// token.
func TestThePublicPackageReadsTheStateRecordOnEveryStore(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	for _, k := range stateStores() {
		t.Run(k.name, func(t *testing.T) {
			o := k.open(t)
			o.set(`{}`)
			public := publicStore(k.name, o.url)
			write := func(st State) {
				t.Helper()
				if err := (StateRecord{Store: o.store, ID: o.id}).Write(t.Context(), st); err != nil {
					t.Fatal(err)
				}
			}

			_, err := statetoken.Read(t.Context(), public, o.id)
			if !errors.Is(err, statetoken.ErrNoToken) {
				t.Fatalf("an empty record: %v", err)
			}
			write(State{Ticket: storedTicket, TicketCreated: now, Token: storedToken, ExpiresAt: now.Add(2 * time.Hour), MintedAt: now})
			tok, err := statetoken.Read(t.Context(), public, o.id)
			if err != nil || tok.Value != storedToken || !tok.ExpiresAt.Equal(now.Add(2*time.Hour)) {
				t.Fatalf("Read = %v %q, %v", tok, tok.Value, err)
			}
			write(State{Token: storedToken, ExpiresAt: now.Add(-time.Second), MintedAt: now.Add(-2 * time.Hour)})
			_, err = statetoken.Read(t.Context(), public, o.id)
			if !errors.Is(err, statetoken.ErrExpired) || strings.Contains(err.Error(), storedToken) {
				t.Fatalf("an expired token: %v", err)
			}
			if _, err := statetoken.Read(t.Context(), public, o.id+"-missing"); err == nil {
				t.Fatal("a missing record was read")
			}
		})
	}
}
