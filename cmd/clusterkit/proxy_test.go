package main

import (
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseServiceCIDRs(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    []netip.Prefix
		wantErr string
	}{
		{name: "empty: no catch-all", in: ""},
		{name: "one range", in: "10.96.0.0/16", want: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16")}},
		{name: "several, spaces, host bits dropped", in: " 10.96.0.1/16, 10.100.0.0/24 ,", want: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/16"), netip.MustParsePrefix("10.100.0.0/24")}},
		{name: "not a prefix", in: "10.96.0.1", wantErr: `--service-cidr "10.96.0.1"`},
		{name: "IPv6 refused", in: "fd00::/108", wantErr: "only IPv4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseServiceCIDRs(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseServiceCIDRs(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parseServiceCIDRs(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestProxyCommandServiceCIDRFlag: the flag exists, is documented, and a bad value stops the
// command before it connects anywhere.
func TestProxyCommandServiceCIDRFlag(t *testing.T) {
	cmd := newProxyCommand()
	if f := cmd.Flags().Lookup("service-cidr"); f == nil || f.DefValue != "" || !strings.Contains(f.Usage, "rejected") {
		t.Fatalf("--service-cidr flag: %+v", f)
	}
	if !strings.Contains(cmd.Long, "--service-cidr") {
		t.Fatal("the help text does not explain --service-cidr")
	}
	cmd.SetArgs([]string{"--node-name", "n1", "--kubeconfig", "/nonexistent", "--service-cidr", "10.96.0.0/16,fd00::/108"})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--service-cidr") {
		t.Fatalf("bad --service-cidr: %v", err)
	}
}
