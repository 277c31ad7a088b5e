package registry

import (
	"testing"

	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// TestLocalAPIServices checks that the APIService entry bootstraps one local APIService per
// built-in group-version served, and none for the aggregator's own group.
func TestLocalAPIServices(t *testing.T) {
	r := Default()
	res := r.Lookup(apiregistrationv1.SchemeGroupVersion.WithResource("apiservices"))
	if res == nil || res.Bootstrap == nil {
		t.Fatal("apiservices is not served with bootstrap objects")
	}
	names := map[string]bool{}
	for _, obj := range res.Bootstrap() {
		a := obj.(*apiregistrationv1.APIService)
		names[a.Name] = true
		if a.Spec.Service != nil {
			t.Errorf("%s: a local APIService has no service", a.Name)
		}
		if errs := res.Strategy.Validate(a); len(errs) > 0 {
			t.Errorf("%s: %v", a.Name, errs)
		}
	}
	for _, want := range []string{"v1.", "v1.apps", "v2.autoscaling", "v1.storage.k8s.io", "v1.networking.k8s.io", "v1.apiextensions.k8s.io"} {
		if !names[want] {
			t.Errorf("no local APIService %s (have %v)", want, names)
		}
	}
	if names["v1.apiregistration.k8s.io"] {
		t.Error("kube-apiserver registers no local APIService for apiregistration.k8s.io itself")
	}
}
