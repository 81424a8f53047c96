package dynamoledger_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/internal/ledger/dynamoledger"
	"github.com/envshare/envshare/internal/ledger/enginetest"
	"github.com/envshare/envshare/internal/ledger/ledgertest"
	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/store/awsstore"
	"github.com/envshare/envshare/internal/store/storetest"
)

var engine = ledgertest.Engine{
	Ledger: dynamoledger.Engine,
	New:    func(t testing.TB) string { return enginetest.StartDynalite(t).NewTable(t) },
	Open: func(ctx context.Context, table string, pageSize int) (ledger.Driver, error) {
		return dynamoledger.Open(ctx, table, dynamoledger.Options{PageSize: pageSize})
	},
	OpenStalling: func(ctx context.Context, table string, stalled func()) (ledger.Driver, error) {
		// Half a PutItem reaches the checking proxy, which never passes it on (dynalite 4.0.0
		// itself exits when a client goes away in the middle of a request's body).
		putItem := func(r *http.Request) bool { return strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutItem") }
		transport := ledgertest.StallingTransport(http.DefaultTransport.(*http.Transport).Clone(), putItem, stalled)
		return dynamoledger.Open(ctx, table, dynamoledger.Options{Client: []awsstore.Option{store.WithHTTPClient(&http.Client{Transport: transport})}})
	},
	Files:    func(t testing.TB, _ string) []string { return []string{enginetest.StartDynalite(t).DataDir()} },
	Unusable: unusable,
}

func unusable(t testing.TB) []ledgertest.Unusable {
	enginetest.StartDynalite(t).Setenv(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close() // a port nobody listens on, most likely
	const wrongKey = "wrong-secret-access-key"
	return []ledgertest.Unusable{
		{Name: "a table that does not exist", Value: "dynamodb:no-such-table", Want: []string{`no table "no-such-table"`, "template.yaml"},
			Secret: storetest.AWSSecretAccessKey},
		{Name: "an endpoint nobody listens on", Value: "dynamodb:envshare-ledger", Env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://" + closed.Addr().String()},
			Want: []string{"cannot be reached", closed.Addr().String()}, Secret: storetest.AWSSecretAccessKey, Unreachable: true},
		{Name: "a signature made with the wrong key", Value: "dynamodb:envshare-ledger", Env: map[string]string{"AWS_SECRET_ACCESS_KEY": wrongKey},
			Want: []string{"InvalidSignatureException"}, Secret: wrongKey},
		{Name: "no credentials", Value: "dynamodb:envshare-ledger", Env: map[string]string{"AWS_ACCESS_KEY_ID": ""}, Want: []string{"AWS_ACCESS_KEY_ID not set"}},
		{Name: "a name DynamoDB refuses", Value: "dynamodb:a/b", Want: []string{"dynamodb needs a table name"}},
	}
}

func TestMain(m *testing.M) { ledgertest.Main(m, engine) }

func TestConformance(t *testing.T) {
	ledgertest.RunConformanceTests(t, engine)
}

// TestGenericEndpoint: without AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL is the endpoint.
func TestGenericEndpoint(t *testing.T) {
	dyn := enginetest.StartDynalite(t)
	table := dyn.NewTable(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "")
	os.Unsetenv("AWS_ENDPOINT_URL_DYNAMODB")
	t.Setenv("AWS_ENDPOINT_URL", dyn.Endpoint())
	d, err := dynamoledger.Open(t.Context(), table, dynamoledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put(t.Context(), ledger.Item{Key: ledger.Key{Kind: ledger.KindRun, ID: "r"}, Doc: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
}

// TestLayout pins the items as docs/development.md and template.yaml describe them.
func TestLayout(t *testing.T) {
	table := enginetest.StartDynalite(t).NewTable(t)
	d, err := dynamoledger.Open(t.Context(), table, dynamoledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(d, ledger.Options{})
	const appid = "wx5fe6bb43205e9e07" // ledger.ShardHash(appid) % 60 = 0
	set := func(*ledger.Authorizer) (bool, error) { return true, nil }
	if _, err := l.UpdateAuthorizer(t.Context(), appid, set); err != nil {
		t.Fatal(err)
	}
	if _, err := l.UpdatePair(t.Context(), ledger.PairKey{Env: "prod-1", AppID: appid}, func(*ledger.Pair) (bool, error) { return true, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := l.UpdateRun(t.Context(), "run-1", func(*ledger.Run) (bool, error) { return true, nil }); err != nil {
		t.Fatal(err)
	}
	c, err := awsstore.NewDynamoDB()
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Items []map[string]map[string]string
	}
	if err := c.Call(t.Context(), "Scan", table, map[string]string{"TableName": table}, &out); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range out.Items {
		var names []string
		for name := range it {
			names = append(names, name)
		}
		slices.Sort(names)
		got = append(got, it["pk"]["S"]+" "+it["sk"]["S"]+" v="+it["v"]["N"]+" "+strings.Join(names, ","))
	}
	slices.Sort(got)
	want := []string{
		"authorizer#00 wx5fe6bb43205e9e07 v=1 doc,pk,sk,v",
		"pair#00 wx5fe6bb43205e9e07/prod-1 v=1 doc,pk,sk,v",
		"run run-1 v=1 doc,pk,sk,v",
	}
	if !slices.Equal(got, want) {
		t.Errorf("items:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// BenchmarkPush talks to dynalite directly: the signature-checking proxy runs in the
// benchmark's process and would count in its allocations.
func BenchmarkPush(b *testing.B) {
	e := engine
	e.New = func(t testing.TB) string {
		value := engine.New(t)
		t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", enginetest.StartDynalite(t).Direct())
		return value
	}
	ledgertest.BenchmarkPush(b, e)
}
