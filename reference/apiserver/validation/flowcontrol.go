package validation

import (
	"fmt"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
)

// flowcontrol.apiserver.k8s.io's limits.
const (
	flowSchemaMaxMatchingPrecedence = 10000
	priorityLevelMaxQueues          = 512
	priorityLevelMaxHandSize        = 32
	// The defaults of k8s.io/kubernetes' flowcontrol v1 defaulting.
	flowSchemaDefaultMatchingPrecedence = int32(1000)
	defaultNominalConcurrencyShares     = int32(30)
	defaultQueues                       = int32(64)
	defaultHandSize                     = int32(8)
	defaultQueueLengthLimit             = int32(50)
)

var (
	supportedDistinguishers = []string{string(flowcontrolv1.FlowDistinguisherMethodByUserType), string(flowcontrolv1.FlowDistinguisherMethodByNamespaceType)}
	supportedSubjectKinds   = []string{string(flowcontrolv1.SubjectKindServiceAccount), string(flowcontrolv1.SubjectKindGroup), string(flowcontrolv1.SubjectKindUser)}
	supportedPLTypes        = []string{string(flowcontrolv1.PriorityLevelEnablementExempt), string(flowcontrolv1.PriorityLevelEnablementLimited)}
	supportedLimitResponses = []string{string(flowcontrolv1.LimitResponseTypeQueue), string(flowcontrolv1.LimitResponseTypeReject)}
)

// MandatoryFlowSchemas returns fresh copies of the FlowSchemas every API server keeps (exempt
// and catch-all), k8s.io/apiserver's bootstrap configuration.
func MandatoryFlowSchemas() []*flowcontrolv1.FlowSchema {
	var out []*flowcontrolv1.FlowSchema
	for _, fs := range bootstrap.MandatoryFlowSchemas {
		out = append(out, fs.DeepCopy())
	}
	return out
}

// MandatoryPriorityLevelConfigurations returns fresh copies of the mandatory priority levels
// (exempt and catch-all).
func MandatoryPriorityLevelConfigurations() []*flowcontrolv1.PriorityLevelConfiguration {
	var out []*flowcontrolv1.PriorityLevelConfiguration
	for _, pl := range bootstrap.MandatoryPriorityLevelConfigurations {
		out = append(out, pl.DeepCopy())
	}
	return out
}

// FlowSchemaKind is the strategy of flowcontrol.apiserver.k8s.io/v1 FlowSchema.
func FlowSchemaKind() *Kind[*flowcontrolv1.FlowSchema] {
	return &Kind[*flowcontrolv1.FlowSchema]{
		ClusterScoped: true,
		Defaults: func(fs *flowcontrolv1.FlowSchema) {
			if fs.Spec.MatchingPrecedence == 0 {
				fs.Spec.MatchingPrecedence = flowSchemaDefaultMatchingPrecedence
			}
		},
		Create:        validateFlowSchema,
		PrepareCreate: func(fs *flowcontrolv1.FlowSchema) { fs.Status = flowcontrolv1.FlowSchemaStatus{} },
	}
}

func validateFlowSchema(fs *flowcontrolv1.FlowSchema) field.ErrorList {
	var errs field.ErrorList
	spec := &fs.Spec
	if spec.MatchingPrecedence <= 0 || spec.MatchingPrecedence > flowSchemaMaxMatchingPrecedence {
		errs = append(errs, field.Invalid(specPath.Child("matchingPrecedence"), spec.MatchingPrecedence, fmt.Sprintf("must be between 1 and %d, inclusive", flowSchemaMaxMatchingPrecedence)))
	}
	if fs.Name == flowcontrolv1.FlowSchemaNameExempt && spec.MatchingPrecedence != 1 {
		errs = append(errs, field.Invalid(specPath.Child("matchingPrecedence"), spec.MatchingPrecedence, "only the schema named 'exempt' may have matchingPrecedence 1"))
	}
	if d := spec.DistinguisherMethod; d != nil {
		errs = append(errs, validateEnum(d.Type, supportedDistinguishers, specPath.Child("distinguisherMethod", "type"))...)
	}
	if spec.PriorityLevelConfiguration.Name == "" {
		errs = append(errs, field.Required(specPath.Child("priorityLevelConfiguration", "name"), "must reference a priority level"))
	} else {
		errs = append(errs, invalidMsgs(specPath.Child("priorityLevelConfiguration", "name"), spec.PriorityLevelConfiguration.Name,
			apimachineryvalidation.NameIsDNSSubdomain(spec.PriorityLevelConfiguration.Name, false))...)
	}
	for i, rule := range spec.Rules {
		rp := specPath.Child("rules").Index(i)
		if len(rule.Subjects) == 0 {
			errs = append(errs, field.Required(rp.Child("subjects"), "subjects must contain at least one value"))
		}
		for j, s := range rule.Subjects {
			errs = append(errs, validateFlowSubject(s, rp.Child("subjects").Index(j))...)
		}
		if len(rule.ResourceRules) == 0 && len(rule.NonResourceRules) == 0 {
			errs = append(errs, field.Required(rp, "at least one of resourceRules and nonResourceRules has to be non-empty"))
		}
		for j, r := range rule.ResourceRules {
			p := rp.Child("resourceRules").Index(j)
			for name, v := range map[string][]string{"verbs": r.Verbs, "apiGroups": r.APIGroups, "resources": r.Resources} {
				if len(v) == 0 {
					errs = append(errs, field.Required(p.Child(name), name+" must contain at least one value"))
				}
			}
			if len(r.Namespaces) == 0 && !r.ClusterScope {
				errs = append(errs, field.Required(p.Child("namespaces"), "resource rules that are not cluster scoped must supply at least one namespace"))
			}
		}
		for j, r := range rule.NonResourceRules {
			p := rp.Child("nonResourceRules").Index(j)
			if len(r.Verbs) == 0 {
				errs = append(errs, field.Required(p.Child("verbs"), "verbs must contain at least one value"))
			}
			if len(r.NonResourceURLs) == 0 {
				errs = append(errs, field.Required(p.Child("nonResourceURLs"), "nonResourceURLs must contain at least one value"))
			}
		}
	}
	return errs
}

func validateFlowSubject(s flowcontrolv1.Subject, fldPath *field.Path) field.ErrorList {
	errs := validateEnum(s.Kind, supportedSubjectKinds, fldPath.Child("kind"))
	switch s.Kind {
	case flowcontrolv1.SubjectKindUser:
		if s.User == nil || s.User.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("user", "name"), "username is required"))
		}
	case flowcontrolv1.SubjectKindGroup:
		if s.Group == nil || s.Group.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("group", "name"), "group name is required"))
		}
	case flowcontrolv1.SubjectKindServiceAccount:
		if s.ServiceAccount == nil || s.ServiceAccount.Name == "" {
			errs = append(errs, field.Required(fldPath.Child("serviceAccount", "name"), "serviceaccount name is required"))
		}
		if s.ServiceAccount == nil || s.ServiceAccount.Namespace == "" {
			errs = append(errs, field.Required(fldPath.Child("serviceAccount", "namespace"), "serviceaccount namespace is required"))
		}
	}
	return errs
}

// PriorityLevelConfigurationKind is the strategy of flowcontrol.apiserver.k8s.io/v1
// PriorityLevelConfiguration.
func PriorityLevelConfigurationKind() *Kind[*flowcontrolv1.PriorityLevelConfiguration] {
	return &Kind[*flowcontrolv1.PriorityLevelConfiguration]{
		ClusterScoped: true,
		Defaults:      defaultPriorityLevel,
		Create:        validatePriorityLevel,
		PrepareCreate: func(pl *flowcontrolv1.PriorityLevelConfiguration) {
			pl.Status = flowcontrolv1.PriorityLevelConfigurationStatus{}
		},
	}
}

// defaultPriorityLevel: a limited level gets 30 nominal shares, 0% lendable and, when queuing,
// 64 queues of 50 requests with hand size 8; an exempt level 0 shares and 0% lendable.
func defaultPriorityLevel(pl *flowcontrolv1.PriorityLevelConfiguration) {
	if l := pl.Spec.Limited; l != nil {
		if l.NominalConcurrencyShares == nil {
			l.NominalConcurrencyShares = ptrTo(defaultNominalConcurrencyShares)
		}
		if l.LendablePercent == nil {
			l.LendablePercent = ptrTo(int32(0))
		}
		if q := l.LimitResponse.Queuing; l.LimitResponse.Type == flowcontrolv1.LimitResponseTypeQueue && q != nil {
			if q.Queues == 0 {
				q.Queues = defaultQueues
			}
			if q.HandSize == 0 {
				q.HandSize = defaultHandSize
			}
			if q.QueueLengthLimit == 0 {
				q.QueueLengthLimit = defaultQueueLengthLimit
			}
		}
	}
	if e := pl.Spec.Exempt; e != nil {
		if e.NominalConcurrencyShares == nil {
			e.NominalConcurrencyShares = ptrTo(int32(0))
		}
		if e.LendablePercent == nil {
			e.LendablePercent = ptrTo(int32(0))
		}
	}
}

func validatePriorityLevel(pl *flowcontrolv1.PriorityLevelConfiguration) field.ErrorList {
	spec := &pl.Spec
	errs := validateEnum(spec.Type, supportedPLTypes, specPath.Child("type"))
	if (pl.Name == flowcontrolv1.PriorityLevelConfigurationNameExempt) != (spec.Type == flowcontrolv1.PriorityLevelEnablementExempt) {
		errs = append(errs, field.Invalid(specPath.Child("type"), spec.Type, "type must be 'Exempt' if and only if name is 'exempt'"))
	}
	switch spec.Type {
	case flowcontrolv1.PriorityLevelEnablementExempt:
		if spec.Limited != nil {
			errs = append(errs, field.Forbidden(specPath.Child("limited"), "must be nil if the type is not Limited"))
		}
	case flowcontrolv1.PriorityLevelEnablementLimited:
		if spec.Exempt != nil {
			errs = append(errs, field.Forbidden(specPath.Child("exempt"), "must be nil if the type is Limited"))
		}
		if spec.Limited == nil {
			errs = append(errs, field.Required(specPath.Child("limited"), "must not be empty when type is Limited"))
		} else {
			errs = append(errs, validateLimited(spec.Limited, specPath.Child("limited"))...)
		}
	}
	return errs
}

func validateLimited(l *flowcontrolv1.LimitedPriorityLevelConfiguration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if l.NominalConcurrencyShares != nil && *l.NominalConcurrencyShares < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("nominalConcurrencyShares"), *l.NominalConcurrencyShares, "must be a non-negative integer"))
	}
	if l.LendablePercent != nil && (*l.LendablePercent < 0 || *l.LendablePercent > 100) {
		errs = append(errs, field.Invalid(fldPath.Child("lendablePercent"), *l.LendablePercent, "must be between 0 and 100, inclusive"))
	}
	lr := fldPath.Child("limitResponse")
	errs = append(errs, validateEnum(l.LimitResponse.Type, supportedLimitResponses, lr.Child("type"))...)
	switch l.LimitResponse.Type {
	case flowcontrolv1.LimitResponseTypeReject:
		if l.LimitResponse.Queuing != nil {
			errs = append(errs, field.Forbidden(lr.Child("queuing"), "must be nil if limited.limitResponse.type is not Limited"))
		}
	case flowcontrolv1.LimitResponseTypeQueue:
		q := l.LimitResponse.Queuing
		if q == nil {
			errs = append(errs, field.Required(lr.Child("queuing"), "must not be empty if limited.limitResponse.type is Limited"))
			break
		}
		qp := lr.Child("queuing")
		if q.QueueLengthLimit <= 0 {
			errs = append(errs, field.Invalid(qp.Child("queueLengthLimit"), q.QueueLengthLimit, "must be positive"))
		}
		if q.Queues <= 0 || q.Queues > priorityLevelMaxQueues {
			errs = append(errs, field.Invalid(qp.Child("queues"), q.Queues, fmt.Sprintf("must be between 1 and %d, inclusive", priorityLevelMaxQueues)))
		}
		if q.HandSize <= 0 || q.HandSize > priorityLevelMaxHandSize || q.HandSize > q.Queues {
			errs = append(errs, field.Invalid(qp.Child("handSize"), q.HandSize, fmt.Sprintf("should not be greater than queues (%d) and must be between 1 and %d, inclusive", q.Queues, priorityLevelMaxHandSize)))
		}
	}
	return errs
}
