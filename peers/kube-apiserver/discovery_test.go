package kubeapiserver_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/reference/harness"
)

// TestDiscoveryMatchesKubeAPIServer compares what `kubectl api-resources` and `kubectl
// api-versions` read — the discovery documents — of clusterkit's API server with those of the
// real kube-apiserver v1.37.2 started with kubeadm's flags (the server of this package's
// TestMain). Every group version kube-apiserver serves must be served, with the same preferred
// version per group, and every resource and subresource in it with the same kind, scope, verbs,
// short names and categories. clusterkit may serve more (metrics.k8s.io, which a kubeadm cluster
// gets from metrics-server); it must not serve less or differently.
func TestDiscoveryMatchesKubeAPIServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ours, err := harness.Cluster(harness.MemoryStore())(ctx, t)
	if err != nil {
		t.Fatalf("starting clusterkit's API server: %v", err)
	}
	want, err := readDiscovery(server.Admin())
	if err != nil {
		t.Fatalf("kube-apiserver's discovery: %v", err)
	}
	got, err := readDiscovery(ours)
	if err != nil {
		t.Fatalf("clusterkit's discovery: %v", err)
	}
	if len(want.resources) < 50 {
		t.Fatalf("kube-apiserver's discovery lists only %d resources: the comparison would prove little", len(want.resources))
	}
	var diffs []string
	for group, v := range want.preferred {
		if g, ok := got.preferred[group]; !ok {
			diffs = append(diffs, fmt.Sprintf("group %q: not served (kube-apiserver prefers %s)", groupName(group), v))
		} else if g != v {
			diffs = append(diffs, fmt.Sprintf("group %q: preferred version %s, kube-apiserver prefers %s", groupName(group), g, v))
		}
	}
	for gv := range want.versions {
		if !got.versions[gv] {
			diffs = append(diffs, fmt.Sprintf("%s: group version not served", gv))
		}
	}
	for key, w := range want.resources {
		g, ok := got.resources[key]
		if !ok {
			if got.versions[key.gv] {
				diffs = append(diffs, fmt.Sprintf("%s %s: not served", key.gv, key.name))
			}
			continue
		}
		if d := resourceDiff(w, g); d != "" {
			diffs = append(diffs, fmt.Sprintf("%s %s: %s", key.gv, key.name, d))
		}
	}
	sort.Strings(diffs)
	var unexpected []string
	seen := map[string]bool{}
	for _, d := range diffs {
		if _, ok := knownDiscoveryDifferences[d]; ok {
			seen[d] = true
			continue
		}
		unexpected = append(unexpected, d)
	}
	if len(unexpected) > 0 {
		t.Errorf("clusterkit's discovery differs from kube-apiserver v1.37.2's in %d places not listed as known differences:\n  %s", len(unexpected), strings.Join(unexpected, "\n  "))
	}
	for d, why := range knownDiscoveryDifferences {
		if !seen[d] {
			t.Errorf("listed as a known difference (%s) but no longer differs — remove it from knownDiscoveryDifferences: %s", why, d)
		} else {
			t.Logf("known difference: %s (%s)", d, why)
		}
	}
	t.Logf("compared %d group versions and %d resources and subresources (clusterkit serves %d)", len(want.versions), len(want.resources), len(got.resources))
}

// knownDiscoveryDifferences are the documented differences (docs/apiserver.md, "Known
// deviations"), each with its reason. A listed difference that disappears fails the test too, so
// the list stays true.
var knownDiscoveryDifferences = map[string]string{
	`group "resource.k8s.io": not served (kube-apiserver prefers v1)`: "dynamic resource allocation is not served",
	"resource.k8s.io/v1: group version not served":                    "dynamic resource allocation is not served",
	"networking.k8s.io/v1 ipaddresses: not served":                    "Service IPs come from the API server's own allocator, not IPAddress objects",
	"networking.k8s.io/v1 servicecidrs: not served":                   "Service IPs come from the API server's own allocator, not ServiceCIDR objects",
	"networking.k8s.io/v1 servicecidrs/status: not served":            "Service IPs come from the API server's own allocator, not ServiceCIDR objects",
	"v1 componentstatuses: not served":                                "ComponentStatus, deprecated since v1.19, is not served",
}

type resourceKey struct{ gv, name string }

type discovered struct {
	preferred map[string]string // group → preferred version
	versions  map[string]bool   // "group/version" (or "v1")
	resources map[resourceKey]metav1.APIResource
}

func readDiscovery(cfg *rest.Config) (*discovered, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	groups, lists, err := dc.ServerGroupsAndResources()
	if err != nil {
		return nil, err
	}
	d := &discovered{preferred: map[string]string{}, versions: map[string]bool{}, resources: map[resourceKey]metav1.APIResource{}}
	for _, g := range groups {
		d.preferred[g.Name] = g.PreferredVersion.Version
		for _, v := range g.Versions {
			d.versions[v.GroupVersion] = true
		}
	}
	for _, l := range lists {
		for _, r := range l.APIResources {
			d.resources[resourceKey{l.GroupVersion, r.Name}] = r
		}
	}
	return d, nil
}

// resourceDiff names the fields of one discovery entry that differ, or "".
func resourceDiff(want, got metav1.APIResource) string {
	var d []string
	if want.Kind != got.Kind {
		d = append(d, fmt.Sprintf("kind %q, want %q", got.Kind, want.Kind))
	}
	if want.Namespaced != got.Namespaced {
		d = append(d, fmt.Sprintf("namespaced %t, want %t", got.Namespaced, want.Namespaced))
	}
	for _, f := range []struct {
		name      string
		want, got []string
	}{
		{"verbs", want.Verbs, got.Verbs},
		{"shortNames", want.ShortNames, got.ShortNames},
		{"categories", want.Categories, got.Categories},
	} {
		w, g := slices.Sorted(slices.Values(f.want)), slices.Sorted(slices.Values(f.got))
		if !slices.Equal(w, g) {
			d = append(d, fmt.Sprintf("%s %v, want %v", f.name, g, w))
		}
	}
	if want.Group != got.Group || want.Version != got.Version {
		d = append(d, fmt.Sprintf("group/version override %q/%q, want %q/%q", got.Group, got.Version, want.Group, want.Version))
	}
	return strings.Join(d, "; ")
}

func groupName(g string) string {
	if g == "" {
		return "core"
	}
	return g
}
