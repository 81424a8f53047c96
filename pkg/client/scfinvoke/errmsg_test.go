package scfinvoke

import "testing"

func TestErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		errMsg string
		want   string
	}{
		{`{"errorCode":-1,"errorMessage":"upstream_unavailable: busy","statusCode":443}`, "upstream_unavailable: busy"},
		{"deadline_exceeded: late", "deadline_exceeded: late"},
		{"", "function error (InvokeResult -1)"},
	} {
		if got := errorMessage(tc.errMsg, -1); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.errMsg, got, tc.want)
		}
	}
}
