package apiserver

import (
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// outputForm is how the client asked to see objects.
type outputForm int

const (
	formObject   outputForm = iota // the typed object or list
	formTable                      // meta.k8s.io Table
	formMetadata                   // meta.k8s.io PartialObjectMetadata(List)
)

// output is the negotiated response shape.
type output struct {
	form outputForm
	// version of meta.k8s.io for Table and PartialObjectMetadata: v1 or v1beta1.
	metaVersion string
	// protobuf: answer in Kubernetes protobuf (objects, lists, Status, watch frames), not JSON.
	protobuf bool
}

// negotiateOutput reads the Accept header: the first media range that names a form res can
// produce, in an encoding res can produce it in, wins (ephemeral resources, such as the access
// reviews, have no Table or metadata form; custom resources and Tables have no protobuf
// encoding, PartialObjectMetadata has). An empty header means JSON objects. A header that
// names nothing res can produce is 406 Not Acceptable, as kube-apiserver answers (for a custom
// resource asked only in protobuf too).
func negotiateOutput(accept string, res *registry.Resource) (output, error) {
	if strings.TrimSpace(accept) == "" {
		return output{form: formObject}, nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		proto := mt == mediaTypeProtobuf
		as := params["as"]
		if as == "" {
			switch mt {
			case "application/json", "application/yaml", "*/*", "application/*":
				return output{form: formObject}, nil
			case mediaTypeProtobuf:
				if resourceProtobufCapable(res) {
					return output{form: formObject, protobuf: true}, nil
				}
			}
			continue
		}
		if res.Ephemeral || params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
			continue
		}
		switch as {
		case "Table":
			if proto {
				continue
			}
			return output{form: formTable, metaVersion: params["v"]}, nil
		case "PartialObjectMetadata", "PartialObjectMetadataList":
			return output{form: formMetadata, metaVersion: params["v"], protobuf: proto}, nil
		}
	}
	accepted := "application/json, application/yaml"
	if resourceProtobufCapable(res) {
		accepted += ", " + mediaTypeProtobuf
	}
	return output{}, &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusNotAcceptable, Reason: metav1.StatusReasonNotAcceptable,
		Message: "only the following media types are accepted: " + accepted,
	}}
}

// discoveryAccept reports which aggregated discovery version the Accept header asks for
// ("v2", "v2beta1") or "" for legacy discovery.
func discoveryAccept(accept string) string {
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if mt == "application/json" && params["g"] == "apidiscovery.k8s.io" && params["as"] == "APIGroupDiscoveryList" {
			if params["v"] == "v2" || params["v"] == "v2beta1" {
				return params["v"]
			}
			continue
		}
		if params["as"] == "" && (mt == "application/json" || mt == "*/*" || mt == "application/*") {
			return ""
		}
	}
	return ""
}
