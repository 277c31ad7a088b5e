package validation

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
)

// ---- apiregistration.k8s.io/v1 APIService ----

// APIServicePriority is the group and version priority of a local APIService.
type APIServicePriority struct{ Group, Version int32 }

// localAPIServicePriorities are kube-apiserver's priorities of the built-in group-versions
// (their order in discovery); a served group-version without one gets no APIService, as
// upstream skips it.
var localAPIServicePriorities = map[schema.GroupVersion]APIServicePriority{
	{Version: "v1"}:                                        {18000, 1},
	{Group: "apps", Version: "v1"}:                         {17800, 15},
	{Group: "events.k8s.io", Version: "v1"}:                {17750, 15},
	{Group: "authentication.k8s.io", Version: "v1"}:        {17700, 15},
	{Group: "authorization.k8s.io", Version: "v1"}:         {17600, 15},
	{Group: "autoscaling", Version: "v1"}:                  {17500, 15},
	{Group: "autoscaling", Version: "v2"}:                  {17500, 30},
	{Group: "batch", Version: "v1"}:                        {17400, 15},
	{Group: "certificates.k8s.io", Version: "v1"}:          {17300, 15},
	{Group: "networking.k8s.io", Version: "v1"}:            {17200, 15},
	{Group: "policy", Version: "v1"}:                       {17100, 15},
	{Group: "rbac.authorization.k8s.io", Version: "v1"}:    {17000, 15},
	{Group: "storage.k8s.io", Version: "v1"}:               {16800, 15},
	{Group: "apiextensions.k8s.io", Version: "v1"}:         {16700, 15},
	{Group: "admissionregistration.k8s.io", Version: "v1"}: {16700, 15},
	{Group: "scheduling.k8s.io", Version: "v1"}:            {16600, 15},
	{Group: "coordination.k8s.io", Version: "v1"}:          {16500, 15},
	{Group: "node.k8s.io", Version: "v1"}:                  {16300, 15},
	{Group: "discovery.k8s.io", Version: "v1"}:             {16200, 15},
	{Group: "resource.k8s.io", Version: "v1"}:              {16200, 21},
	{Group: "flowcontrol.apiserver.k8s.io", Version: "v1"}: {16100, 21},
	{Group: "storagemigration.k8s.io", Version: "v1"}:      {15800, 15},
}

// LocalAPIService returns the local APIService kube-apiserver registers for a built-in
// group-version it serves (named version.group, no service), or nil when the group-version
// has no built-in priority.
func LocalAPIService(gv schema.GroupVersion) *apiregistrationv1.APIService {
	p, ok := localAPIServicePriorities[gv]
	if !ok {
		return nil
	}
	return &apiregistrationv1.APIService{
		ObjectMeta: metav1.ObjectMeta{Name: gv.Version + "." + gv.Group},
		Spec: apiregistrationv1.APIServiceSpec{
			Group: gv.Group, Version: gv.Version, GroupPriorityMinimum: p.Group, VersionPriority: p.Version,
		},
	}
}

// APIServiceKind is the strategy of apiregistration.k8s.io/v1 APIService (status split). A
// local APIService (no spec.service) is Available at once with reason Local, as the
// aggregator's availability controller marks it; nothing checks the availability of a
// service-backed one (no aggregation proxy is served), so its status is what its writers set.
func APIServiceKind() *Kind[*apiregistrationv1.APIService] {
	return &Kind[*apiregistrationv1.APIService]{
		ClusterScoped: true,
		NameRule:      RulePathSegment,
		Defaults: func(a *apiregistrationv1.APIService) {
			if s := a.Spec.Service; s != nil && s.Port == nil {
				s.Port = ptrTo(int32(443))
			}
		},
		Create: validateAPIService,
		Status: func(n, _ *apiregistrationv1.APIService) field.ErrorList {
			var errs field.ErrorList
			for i, c := range n.Status.Conditions {
				switch c.Status {
				case apiregistrationv1.ConditionTrue, apiregistrationv1.ConditionFalse, apiregistrationv1.ConditionUnknown:
				default:
					errs = append(errs, field.NotSupported(field.NewPath("status", "conditions").Index(i).Child("status"), c.Status, []string{"True", "False", "Unknown"}))
				}
			}
			return errs
		},
		PrepareCreate: func(a *apiregistrationv1.APIService) {
			a.Status = apiregistrationv1.APIServiceStatus{}
			markLocalAvailable(a)
		},
		PrepareUpdate: func(n, o *apiregistrationv1.APIService) {
			n.Status = o.Status
			markLocalAvailable(n)
		},
		PrepareStatus: func(n, o *apiregistrationv1.APIService) { n.Spec = o.Spec },
	}
}

// markLocalAvailable sets the Available condition of a local APIService that lacks it.
func markLocalAvailable(a *apiregistrationv1.APIService) {
	if a.Spec.Service != nil {
		return
	}
	for _, c := range a.Status.Conditions {
		if c.Type == apiregistrationv1.Available && c.Status == apiregistrationv1.ConditionTrue {
			return
		}
	}
	var kept []apiregistrationv1.APIServiceCondition
	for _, c := range a.Status.Conditions {
		if c.Type != apiregistrationv1.Available {
			kept = append(kept, c)
		}
	}
	a.Status.Conditions = append(kept, apiregistrationv1.APIServiceCondition{
		Type: apiregistrationv1.Available, Status: apiregistrationv1.ConditionTrue,
		LastTransitionTime: metav1.NewTime(time.Now().Truncate(time.Second)),
		Reason:             "Local", Message: "Local APIServices are always available",
	})
}

// validateAPIService: the name is version.group; only v1 may have an empty group; the group
// is a DNS subdomain and the version a DNS-1035 label; priorities in range; a local
// APIService has no caBundle or insecureSkipTLSVerify; a service has a namespace, a name and
// a valid port.
func validateAPIService(a *apiregistrationv1.APIService) field.ErrorList {
	var errs field.ErrorList
	sp := field.NewPath("spec")
	s := &a.Spec
	if want := s.Version + "." + s.Group; a.Name != want {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), a.Name, fmt.Sprintf("must be `spec.version+\".\"+spec.group`: %q", want)))
	}
	if s.Group == "" && s.Version != "v1" {
		errs = append(errs, field.Required(sp.Child("group"), "only v1 may have an empty group and it better be legacy kube"))
	}
	if s.Group != "" {
		errs = append(errs, invalidMsgs(sp.Child("group"), s.Group, validation.IsDNS1123Subdomain(s.Group))...)
	}
	errs = append(errs, invalidMsgs(sp.Child("version"), s.Version, validation.IsDNS1035Label(s.Version))...)
	if s.GroupPriorityMinimum <= 0 || s.GroupPriorityMinimum > 20000 {
		errs = append(errs, field.Invalid(sp.Child("groupPriorityMinimum"), s.GroupPriorityMinimum, "must be positive and less than 20000"))
	}
	if s.VersionPriority <= 0 || s.VersionPriority > 1000 {
		errs = append(errs, field.Invalid(sp.Child("versionPriority"), s.VersionPriority, "must be positive and less than 1000"))
	}
	if s.Service == nil {
		if len(s.CABundle) != 0 {
			errs = append(errs, field.Invalid(sp.Child("caBundle"), fmt.Sprintf("%d bytes", len(s.CABundle)), "local APIServices may not have a caBundle"))
		}
		if s.InsecureSkipTLSVerify {
			errs = append(errs, field.Invalid(sp.Child("insecureSkipTLSVerify"), s.InsecureSkipTLSVerify, "local APIServices may not have insecureSkipTLSVerify"))
		}
		return errs
	}
	if s.Service.Namespace == "" {
		errs = append(errs, field.Required(sp.Child("service", "namespace"), ""))
	}
	if s.Service.Name == "" {
		errs = append(errs, field.Required(sp.Child("service", "name"), ""))
	}
	if s.Service.Port != nil {
		if msgs := validation.IsValidPortNum(int(*s.Service.Port)); len(msgs) > 0 {
			errs = append(errs, field.Invalid(sp.Child("service", "port"), *s.Service.Port, "port is not valid: "+fmt.Sprint(msgs)))
		}
	}
	if s.InsecureSkipTLSVerify && len(s.CABundle) > 0 {
		errs = append(errs, field.Invalid(sp.Child("insecureSkipTLSVerify"), s.InsecureSkipTLSVerify, "may not be true if caBundle is present"))
	}
	return errs
}
