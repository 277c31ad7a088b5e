package containerd

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestCNIConflistRoutes(t *testing.T) {
	cases := []struct {
		name   string
		cfg    Config
		routes []map[string]string // nil: no "routes" key at all
	}{
		{name: "no routes", cfg: Config{Dir: "/tmp/x", Bridge: "ck0", Subnet: "10.88.0.0/24"}},
		{
			name:   "service range via the gateway",
			cfg:    Config{Dir: "/tmp/x", Bridge: "ckup0", Subnet: "10.90.0.0/24", Routes: []string{"10.96.0.0/16"}},
			routes: []map[string]string{{"dst": "10.96.0.0/16", "gw": "10.90.0.1"}},
		},
		{
			name:   "two routes, gateway of an unaligned subnet string",
			cfg:    Config{Dir: "/tmp/x", Bridge: "ck1", Subnet: "10.91.0.7/24", Routes: []string{"10.96.0.0/16", "10.97.0.0/24"}},
			routes: []map[string]string{{"dst": "10.96.0.0/16", "gw": "10.91.0.1"}, {"dst": "10.97.0.0/24", "gw": "10.91.0.1"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var conf struct {
				Plugins []struct {
					Type string `json:"type"`
					IPAM struct {
						Routes []map[string]string `json:"routes"`
					} `json:"ipam"`
				} `json:"plugins"`
			}
			if err := json.Unmarshal(cniConflist(tc.cfg), &conf); err != nil {
				t.Fatal(err)
			}
			if len(conf.Plugins) == 0 || conf.Plugins[0].Type != "bridge" {
				t.Fatalf("first plugin is not the bridge: %+v", conf.Plugins)
			}
			if got := conf.Plugins[0].IPAM.Routes; !reflect.DeepEqual(got, tc.routes) {
				t.Fatalf("routes = %v, want %v", got, tc.routes)
			}
		})
	}
}

func TestConfigRejectsBadRoutes(t *testing.T) {
	for _, r := range []string{"10.96.0.0", "fd00::/64", "nonsense"} {
		c := Config{Dir: "/tmp/x", Routes: []string{r}}
		if err := c.defaults(); err == nil {
			t.Errorf("route %q accepted", r)
		}
	}
	c := Config{Dir: "/tmp/x", Routes: []string{"10.96.0.0/16"}}
	if err := c.defaults(); err != nil {
		t.Fatalf("valid route rejected: %v", err)
	}
}
