package apiserver

import (
	"encoding/json"
	"fmt"

	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	policyv1beta1 "k8s.io/api/policy/v1beta1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// newScheme builds the server's own scheme (no global scheme is touched).
func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	// Every built-in group of client-go (the types a registry entry can serve), plus the
	// policy/v1beta1 Eviction kubectl still sends,
	// apiextensions.k8s.io/v1 (CustomResourceDefinitions) and metrics.k8s.io/v1beta1 (metrics.go).
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, policyv1beta1.AddToScheme, apiextensionsv1.AddToScheme, apiregistrationv1.AddToScheme, metricsv1beta1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return s, nil
}

// protobufToJSON decodes a Kubernetes protobuf body (what client-go's typed clients send by
// default) and returns the object's JSON, so the rest of the request path is JSON only.
func (s *Server) protobufToJSON(data []byte) ([]byte, error) {
	ser := protobuf.NewSerializer(s.scheme, s.scheme)
	obj, gvk, err := ser.Decode(data, nil, nil)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("decoding protobuf body: %v", err))
	}
	if gvk != nil {
		obj.GetObjectKind().SetGroupVersionKind(*gvk)
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return out, nil
}
