package simruntime

import (
	"errors"
	"slices"
	"testing"
)

func TestSendChunks(t *testing.T) {
	cases := []struct {
		name  string
		items int
		want  []int
	}{
		{"nothing sends nothing", 0, nil},
		{"one chunk", 3, []int{3}},
		{"exactly one full chunk", 500, []int{500}},
		{"a full chunk and the rest", 1001, []int{500, 500, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []int
			err := sendChunks(make([]int, c.items), func(chunk []int) error { got = append(got, len(chunk)); return nil })
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("chunk sizes %v, %v; want %v", got, err, c.want)
			}
		})
	}
	boom := errors.New("stream broken")
	calls := 0
	if err := sendChunks(make([]int, 1200), func([]int) error { calls++; return boom }); !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("a failing send: %v after %d calls; want the error after the first", err, calls)
	}
}
