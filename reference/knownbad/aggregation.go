package knownbad

import (
	"net/http"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	genericrequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/clusterkit/clusterkit/reference/apiserver"
)

// AggregationAsItself is an aggregation layer that proxies to extension API servers as
// itself (system:kube-aggregator in system:masters) instead of as the requester: every
// authorized caller of an aggregated API gets the extension server's cluster-admin rights.
func AggregationAsItself(inner apiserver.Aggregation) apiserver.Aggregation {
	return asItself{inner}
}

type asItself struct{ apiserver.Aggregation }

func (a asItself) Proxy(w http.ResponseWriter, r *http.Request, gv schema.GroupVersion) bool {
	self := &user.DefaultInfo{Name: "system:kube-aggregator", Groups: []string{user.SystemPrivilegedGroup}}
	return a.Aggregation.Proxy(w, r.WithContext(genericrequest.WithUser(r.Context(), self)), gv)
}
