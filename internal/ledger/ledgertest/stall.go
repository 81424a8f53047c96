package ledgertest

import (
	"bytes"
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net/http"
	"strings"
)

// StallingConnector wraps a SQL engine's connector for Engine.OpenStalling: every INSERT
// or UPDATE runs inside a transaction that it never commits. After prelude (statements such as
// a PRAGMA) it begins the transaction, executes the write, calls stalled and blocks for good,
// holding whatever the engine holds for an uncommitted write (row locks, pages in a WAL).
func StallingConnector(c driver.Connector, stalled func(), prelude ...string) driver.Connector {
	return &stallConnector{Connector: c, stalled: stalled, prelude: prelude}
}

type stallConnector struct {
	driver.Connector
	stalled func()
	prelude []string
}

func (c *stallConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &stallConn{Conn: conn, c: c}, nil
}

// stallConn passes every statement on, but stalls a write.
type stallConn struct {
	driver.Conn
	c *stallConnector
}

func (s *stallConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	verb, _, _ := strings.Cut(strings.TrimSpace(query), " ")
	if verb != "INSERT" && verb != "UPDATE" {
		return execDirect(ctx, s.Conn, query, args)
	}
	for _, p := range s.c.prelude {
		if _, err := execDirect(ctx, s.Conn, p, nil); err != nil {
			return nil, err
		}
	}
	begin, ok := s.Conn.(driver.ConnBeginTx)
	if !ok {
		return nil, errors.New("ledgertest: the connection cannot begin a transaction")
	}
	if _, err := begin.BeginTx(ctx, driver.TxOptions{}); err != nil {
		return nil, err
	}
	if _, err := execDirect(ctx, s.Conn, query, args); err != nil {
		return nil, err
	}
	s.c.stalled()
	select {} // until the process is killed
}

func (s *stallConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := s.Conn.(driver.QueryerContext); ok {
		return q.QueryContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

// execDirect executes query on conn, preparing it when the connection cannot execute it with
// its arguments at once.
func execDirect(ctx context.Context, conn driver.Conn, query string, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := conn.(driver.ExecerContext); ok {
		res, err := e.ExecContext(ctx, query, args)
		if !errors.Is(err, driver.ErrSkip) {
			return res, err
		}
	}
	p, ok := conn.(driver.ConnPrepareContext)
	if !ok {
		return nil, errors.New("ledgertest: the connection cannot prepare a statement")
	}
	stmt, err := p.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	return stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

// StallingTransport wraps an HTTP engine's transport for Engine.OpenStalling: a request
// that match selects sends the first half of its body, then the transport calls stalled and
// blocks for good.
func StallingTransport(base http.RoundTripper, match func(*http.Request) bool, stalled func()) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		if !match(r) || r.Body == nil {
			return base.RoundTrip(r)
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body[:len(body)/2]), stallReader(stalled)))
		return base.RoundTrip(r)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// stallReader calls stalled when the reader reaches it, and never returns.
type stallReader func()

func (s stallReader) Read([]byte) (int, error) {
	s()
	select {}
}
