package strictjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

func TestDuplicateKeys(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"no duplicates", `{"action":"share","data":[{"env":"e","appids":["a","a"]}]}`, nil},
		{"a top-level key twice", `{"action":"share","action":"unshare"}`, []string{"action"}},
		{"a nested key twice", `{"data":[{"env":"ok"},{"env":"BAD!!","env":"prod"}]}`, []string{"data[1].env"}},
		{"deep in a shard", `{"shard":{"index":0,"index":1,"count":2}}`, []string{"shard.index"}},
		{"the same key in sibling objects is fine", `[{"a":1},{"a":2}]`, nil},
		{"escaped spellings are the same key", `{"a":1,"\u0061":2}`, []string{"a"}},
		{"odd keys are quoted", `{"a b":1,"a b":2}`, []string{`"a b"`}},
		{"strings holding braces and quotes do not confuse it", `{"x":"}{\"x\":1","x":2}`, []string{"x"}},
		{"three times is reported twice", `{"k":1,"k":2,"k":3}`, []string{"k", "k"}},
		{"scalars and empty values", `[1,true,null,"s",{},[]]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DuplicateKeys([]byte(tt.body)); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// reference finds whether any object of data has a key twice, with encoding/json's tokenizer.
func reference(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	var walk func() bool
	walk = func() bool {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			var keys []string
			dup := false
			for dec.More() {
				k, _ := dec.Token()
				key, _ := k.(string)
				if slices.Contains(keys, key) {
					dup = true
				}
				keys = append(keys, key)
				if walk() {
					dup = true
				}
			}
			dec.Token()
			return dup
		case json.Delim('['):
			dup := false
			for dec.More() {
				if walk() {
					dup = true
				}
			}
			dec.Token()
			return dup
		}
		return false
	}
	return walk()
}

// FuzzDuplicateKeys: on valid JSON, DuplicateKeys agrees with encoding/json's tokenizer; on
// anything it never panics.
func FuzzDuplicateKeys(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":[{"c":1,"c":2}]}}`, `[{"x":"\"}"},{"x":1}]`, `{"\u00e9":1,"é":2}`, `{`, `"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got := DuplicateKeys(data)
		if !json.Valid(data) {
			return
		}
		if want := reference(data); (len(got) > 0) != want {
			t.Fatalf("DuplicateKeys(%q) = %q, encoding/json finds a duplicate: %v", data, got, want)
		}
	})
}

func BenchmarkDuplicateKeys(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"action":"reconcile","envs":[`)
	for e := range 20 {
		if e > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"env":"prod-6gni9ity244a6ea3","appids":[`)
		for i := range 1000 {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(`"wx5fe6bb43205e9e07"`)
		}
		buf.WriteString(`]}`)
	}
	buf.WriteString(`]}`)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		DuplicateKeys(data)
	}
}
