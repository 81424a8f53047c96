package awsstore_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/envshare/envshare/internal/store"
	"github.com/envshare/envshare/internal/store/awsstore"
	"github.com/envshare/envshare/internal/store/storetest"
)

// TestDynamoDB: answers larger than the stores' 1 MiB are read, and a refusal carries its code.
func TestDynamoDB(t *testing.T) {
	storetest.SetAWSEnv(t)
	var target string
	page := strings.Repeat("x", 3<<20) // a Query page's JSON may pass 1 MiB; DynamoDB's cap is 1 MB of items
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target = r.Header.Get("X-Amz-Target") // signatures: the ledger's tests check them in front of dynalite
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if strings.HasSuffix(target, ".PutItem") {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`)
			return
		}
		fmt.Fprintf(w, `{"Items":[],"Pad":%q}`, page)
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", srv.URL)
	c, err := awsstore.NewDynamoDB(store.WithBackoff(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Pad string }
	if err := c.Call(t.Context(), "Query", "tbl", map[string]string{"TableName": "tbl"}, &out); err != nil || len(out.Pad) != len(page) {
		t.Fatalf("a 3 MiB answer: %v", err)
	}
	if target != "DynamoDB_20120810.Query" {
		t.Errorf("X-Amz-Target %q", target)
	}
	err = c.Call(t.Context(), "PutItem", "tbl", map[string]string{"TableName": "tbl"}, &struct{}{})
	var e *awsstore.Error
	if !errors.As(err, &e) || e.Code != "ConditionalCheckFailedException" || !strings.Contains(err.Error(), `DynamoDB_20120810.PutItem "tbl"`) {
		t.Errorf("a refused write = %v", err)
	}
}
