package knownbad

import (
	"reflect"

	"k8s.io/apiserver/pkg/admission"

	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/signeradmission"
)

// AuthWithoutSignerCheck runs without the PodCertificateRequest signing check: anyone allowed
// to update podcertificaterequests/status may issue a certificate for any signer, without the
// "sign" permission on it.
func AuthWithoutSignerCheck(c *apiserver.Config) {
	c.Admission = dropSigning(c.Admission)
}

// dropSigning removes the signing plugin from a chain (admission.NewChainHandler's slice).
func dropSigning(plugin admission.Interface) admission.Interface {
	v := reflect.ValueOf(plugin)
	if plugin == nil || v.Kind() != reflect.Slice {
		return plugin
	}
	members := make([]admission.Interface, 0, v.Len())
	for i := range v.Len() {
		m, ok := v.Index(i).Interface().(admission.Interface)
		if _, signing := m.(*signeradmission.Plugin); ok && !signing {
			members = append(members, dropSigning(m))
		}
	}
	return admission.NewChainHandler(members...)
}
