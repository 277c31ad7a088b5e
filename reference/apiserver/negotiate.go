package apiserver

import (
	"mime"
	"strings"
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
}

// negotiateOutput reads the Accept header: the first media range that names a form this server
// can produce wins. Protobuf and anything unknown fall back to JSON objects.
func negotiateOutput(accept string) output {
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		as := params["as"]
		if as == "" {
			switch mt {
			case "application/json", "application/yaml", "*/*", "application/*", "application/vnd.kubernetes.protobuf":
				return output{form: formObject}
			}
			continue
		}
		if params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
			continue
		}
		switch as {
		case "Table":
			return output{form: formTable, metaVersion: params["v"]}
		case "PartialObjectMetadata", "PartialObjectMetadataList":
			return output{form: formMetadata, metaVersion: params["v"]}
		}
	}
	return output{form: formObject}
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
