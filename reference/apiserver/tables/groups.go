package tables

import (
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/duration"
)

// groupColumns are the columns of flowcontrol.apiserver.k8s.io's and certificates.k8s.io's
// kinds, as kube-apiserver prints them.
func groupColumns(gk schema.GroupKind) ([]metav1.TableColumnDefinition, bool) {
	name, age := nameColumn(), ageColumn()
	switch gk {
	case schema.GroupKind{Group: flowcontrolv1.GroupName, Kind: "FlowSchema"}:
		doc := flowcontrolv1.FlowSchemaSpec{}.SwaggerDoc()
		return []metav1.TableColumnDefinition{
			name,
			column("PriorityLevel", "string", doc["priorityLevelConfiguration"]),
			column("MatchingPrecedence", "string", doc["matchingPrecedence"]),
			column("DistinguisherMethod", "string", doc["distinguisherMethod"]),
			age,
			column("MissingPL", "string", "references a broken or non-existent PriorityLevelConfiguration"),
		}, true
	case schema.GroupKind{Group: flowcontrolv1.GroupName, Kind: "PriorityLevelConfiguration"}:
		return []metav1.TableColumnDefinition{
			name,
			column("Type", "string", flowcontrolv1.PriorityLevelConfigurationSpec{}.SwaggerDoc()["type"]),
			column("NominalConcurrencyShares", "string", "nominalConcurrencyShares (NCS) contributes to the computation of the NominalConcurrencyLimit (NominalCL) of this level"),
			column("Queues", "string", "`queues` is the number of queues for this priority level"),
			column("HandSize", "string", "`handSize` is a small positive number that configures the shuffle sharding of requests into queues"),
			column("QueueLengthLimit", "string", "`queueLengthLimit` is the maximum number of requests allowed to be waiting in a given queue of this priority level at a time"),
			age,
		}, true
	case schema.GroupKind{Group: certificatesv1.GroupName, Kind: "CertificateSigningRequest"}:
		doc := certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()
		return []metav1.TableColumnDefinition{
			name,
			age,
			column("SignerName", "string", doc["signerName"]),
			column("Requestor", "string", "Name of the user that created the request"),
			column("RequestedDuration", "string", doc["expirationSeconds"]),
			column("Condition", "string", "Conditions applied to the request, such as approval or denial."),
		}, true
	}
	return nil, false
}

// groupCells computes the cells of those kinds.
func groupCells(obj runtime.Object, now time.Time) ([]interface{}, bool) {
	switch o := obj.(type) {
	case *flowcontrolv1.FlowSchema:
		method := none
		if o.Spec.DistinguisherMethod != nil {
			method = string(o.Spec.DistinguisherMethod.Type)
		}
		missing := "?"
		for _, c := range o.Status.Conditions {
			if c.Type == flowcontrolv1.FlowSchemaConditionDangling {
				missing = string(c.Status)
			}
		}
		return []interface{}{o.Name, o.Spec.PriorityLevelConfiguration.Name, int64(o.Spec.MatchingPrecedence), method, age(o.CreationTimestamp, now), missing}, true
	case *flowcontrolv1.PriorityLevelConfiguration:
		var ncs, queues, hand, qll interface{} = none, none, none, none
		if l := o.Spec.Limited; l != nil {
			if l.NominalConcurrencyShares != nil {
				ncs = int64(*l.NominalConcurrencyShares)
			}
			if q := l.LimitResponse.Queuing; q != nil {
				queues, hand, qll = int64(q.Queues), int64(q.HandSize), int64(q.QueueLengthLimit)
			}
		}
		return []interface{}{o.Name, string(o.Spec.Type), ncs, queues, hand, qll, age(o.CreationTimestamp, now)}, true
	case *certificatesv1.CertificateSigningRequest:
		var conds []string
		for _, c := range o.Status.Conditions {
			conds = append(conds, string(c.Type))
		}
		if len(o.Status.Certificate) > 0 {
			conds = append(conds, "Issued")
		}
		condition := "Pending"
		if len(conds) > 0 {
			condition = strings.Join(conds, ",")
		}
		requested := none
		if o.Spec.ExpirationSeconds != nil {
			requested = duration.HumanDuration(time.Duration(*o.Spec.ExpirationSeconds) * time.Second)
		}
		return []interface{}{o.Name, age(o.CreationTimestamp, now), o.Spec.SignerName, o.Spec.Username, requested, condition}, true
	}
	return nil, false
}
