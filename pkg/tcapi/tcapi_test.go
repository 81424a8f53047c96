package tcapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestClientErrorsWithholdTheAnswer: a gateway's page that quotes the request is reported by
// its code and HTTP status, never its text.
func TestClientErrorsWithholdTheAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html>bad gateway for secret-value-0123</html>"))
	}))
	defer srv.Close()
	e, err := ParseEndpoint(srv.URL, "ssm")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Call[struct{}](t.Context(), Request{Service: "ssm", Version: "2019-09-23", Action: "GetSecretValue",
		Region: DefaultRegion, Credentials: Credentials{SecretID: "id", SecretKey: "key"}, Endpoint: e})
	var te *Error
	if !errors.As(err, &te) || te.Status != http.StatusBadGateway || te.Message != Withheld ||
		!strings.HasPrefix(te.Code, "ClientError") || strings.Contains(err.Error(), "secret-value-0123") {
		t.Errorf("Call error = %#v (%v)", err, err)
	}
}

func TestParseEndpoint(t *testing.T) {
	for in, want := range map[string]Endpoint{
		"http://127.0.0.1:9000":            {"HTTP", "127.0.0.1:9000"},
		"https://ssm.tencentcloudapi.com/": {"HTTPS", "ssm.tencentcloudapi.com"},
		"ftp://host":                       {},
		"http://host/path":                 {},
		"127.0.0.1:9000":                   {},
	} {
		got, err := ParseEndpoint(in, "ssm")
		if got != want || (err == nil) != (want != Endpoint{}) {
			t.Errorf("ParseEndpoint(%q) = %v, %v; want %v", in, got, err, want)
		}
		if err != nil && strings.Contains(err.Error(), in) {
			t.Errorf("the error quotes the value: %v", err)
		}
	}
}
