package controllers

import (
	"slices"
	"testing"
)

func TestSelect(t *testing.T) {
	all := []string{"deployment", "replicaset", "nodelifecycle"}
	cases := []struct {
		name    string
		spec    []string
		want    []string
		wantErr bool
	}{
		{"default is all", nil, []string{"deployment", "nodelifecycle", "replicaset"}, false},
		{"all but one", []string{"*", "-replicaset"}, []string{"deployment", "nodelifecycle"}, false},
		{"only one", []string{"deployment"}, []string{"deployment"}, false},
		{"unknown name", []string{"*", "-nosuch"}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Select(c.spec, all)
			if (err != nil) != c.wantErr || (!c.wantErr && !slices.Equal(got, c.want)) {
				t.Fatalf("Select(%v) = %v, %v; want %v (error %v)", c.spec, got, err, c.want, c.wantErr)
			}
		})
	}
}
