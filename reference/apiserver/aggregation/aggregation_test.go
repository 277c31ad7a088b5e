package aggregation

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func newTestAggregator(t *testing.T) *Aggregator {
	t.Helper()
	a, err := New(Options{ClientCA: []byte("client-ca"), FrontProxyCA: []byte("front-proxy-ca"), FrontProxyCert: []byte("c"), FrontProxyKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestNewRequiresCertificates(t *testing.T) {
	if _, err := New(Options{ClientCA: []byte("x")}); err == nil {
		t.Fatal("New without the front-proxy certificates succeeded")
	}
}

func TestAuthenticationData(t *testing.T) {
	data, err := newTestAggregator(t).authenticationData()
	if err != nil {
		t.Fatal(err)
	}
	if data["client-ca-file"] != "client-ca" || data["requestheader-client-ca-file"] != "front-proxy-ca" {
		t.Errorf("CAs: %q, %q", data["client-ca-file"], data["requestheader-client-ca-file"])
	}
	for key, want := range map[string]string{
		"requestheader-allowed-names":        "front-proxy-client",
		"requestheader-username-headers":     "X-Remote-User",
		"requestheader-group-headers":        "X-Remote-Group",
		"requestheader-extra-headers-prefix": "X-Remote-Extra-",
	} {
		var got []string
		if err := json.Unmarshal([]byte(data[key]), &got); err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want [%q]", key, data[key], want)
		}
	}
}

func TestNothingProxiedBeforeStart(t *testing.T) {
	a := newTestAggregator(t)
	rec := httptest.NewRecorder()
	if a.Proxy(rec, httptest.NewRequest("GET", "/apis/wardle.example.com/v1alpha1", nil), schema.GroupVersion{Group: "wardle.example.com", Version: "v1alpha1"}) {
		t.Fatal("Proxy served a request before Start")
	}
	if a.Groups() != nil || a.Group("wardle.example.com") != nil {
		t.Fatal("groups listed before Start")
	}
}

func TestVersionFromResourceList(t *testing.T) {
	v := versionFromResourceList("wardle.example.com", "v1alpha1", []metav1.APIResource{
		{Name: "flunders", SingularName: "flunder", Namespaced: true, Kind: "Flunder", Verbs: metav1.Verbs{"get", "list"}},
		{Name: "flunders/status", Kind: "Flunder", Verbs: metav1.Verbs{"get", "update"}},
		{Name: "fischers", SingularName: "fischer", Kind: "Fischer", Verbs: metav1.Verbs{"get"}},
	})
	if v.Version != "v1alpha1" || len(v.Resources) != 2 {
		t.Fatalf("version %+v", v)
	}
	f, fl := v.Resources[0], v.Resources[1]
	if f.Resource != "fischers" || f.Scope != apidiscoveryv2.ScopeCluster || fl.Resource != "flunders" || fl.Scope != apidiscoveryv2.ScopeNamespace {
		t.Errorf("resources %+v", v.Resources)
	}
	if len(fl.Subresources) != 1 || fl.Subresources[0].Subresource != "status" || fl.ResponseKind.Kind != "Flunder" {
		t.Errorf("flunders %+v", fl)
	}
}
