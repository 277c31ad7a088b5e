package dynamicadmission

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func resolverWith(t *testing.T, objs ...runtime.Object) serviceResolver {
	t.Helper()
	svcs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	slices := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *corev1.Service:
			err = svcs.Add(o)
		case *discoveryv1.EndpointSlice:
			err = slices.Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return serviceResolver{services: corelisters.NewServiceLister(svcs), slices: discoverylisters.NewEndpointSliceLister(slices)}
}

func webhookService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "hooks", Name: "hook"},
		Spec:       corev1.ServiceSpec{ClusterIP: "10.96.0.20", Ports: []corev1.ServicePort{{Name: "https", Port: 443}}},
	}
}

func TestResolveEndpointPrefersAReadyEndpoint(t *testing.T) {
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "hooks", Name: "hook-x", Labels: map[string]string{discoveryv1.LabelServiceName: "hook"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: ptr.To[int32](9443)}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.244.0.9"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
			{Addresses: []string{"10.244.0.7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
		},
	}
	u, err := resolverWith(t, webhookService(), slice).ResolveEndpoint("hooks", "hook", 443)
	if err != nil || u.String() != "https://10.244.0.7:9443" {
		t.Fatalf("got %v, %v; want https://10.244.0.7:9443", u, err)
	}
}

func TestResolveEndpointFallsBackToClusterIP(t *testing.T) {
	u, err := resolverWith(t, webhookService()).ResolveEndpoint("hooks", "hook", 443)
	if err != nil || u.String() != "https://10.96.0.20:443" {
		t.Fatalf("got %v, %v; want https://10.96.0.20:443", u, err)
	}
	if _, err := resolverWith(t, webhookService()).ResolveEndpoint("hooks", "hook", 8443); err == nil {
		t.Error("a port the Service does not have resolved")
	}
	if _, err := resolverWith(t).ResolveEndpoint("hooks", "hook", 443); err == nil {
		t.Error("a missing Service resolved")
	}
}

func TestSameTypeConversionCopies(t *testing.T) {
	c := sameTypeConvertor{scheme.Scheme}
	in := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"k": "v"}}}
	out := &corev1.ConfigMap{}
	if err := c.Convert(in, out, nil); err != nil {
		t.Fatal(err)
	}
	if out.Name != "a" || out.Labels["k"] != "v" {
		t.Errorf("not copied: %+v", out)
	}
}

func TestPluginsServiceResolverBeforeAndAfterStart(t *testing.T) {
	p := &Plugins{}
	if _, err := p.ServiceResolver().ResolveEndpoint("hooks", "hook", 443); err == nil {
		t.Error("the resolver resolved before Start")
	}
	if p.AuthWrapper() != nil {
		t.Error("an AuthWrapper without Options.Dial")
	}
	p.resolver = resolverWith(t, webhookService())
	u, err := p.ServiceResolver().ResolveEndpoint("hooks", "hook", 443)
	if err != nil || u.String() != "https://10.96.0.20:443" {
		t.Fatalf("got %v, %v; want https://10.96.0.20:443", u, err)
	}
}
