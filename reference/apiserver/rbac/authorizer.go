package rbac

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// errNotSynced is the reason of every decision before the informers have synced.
var errNotSynced = errors.New("the RBAC informers have not synced yet")

// listers are the RBAC objects the authorizer reads: the roles by name, the bindings by
// subject (subjectIndex).
type listers struct {
	roles               rbaclisters.RoleLister
	clusterRoles        rbaclisters.ClusterRoleLister
	roleBindings        cache.Indexer
	clusterRoleBindings cache.Indexer
}

// Authorizer is RBAC. It is built before the API server exists and has no opinion on any
// request until Start has read the roles and bindings from the server.
type Authorizer struct {
	l atomic.Pointer[listers]
}

var (
	_ authorizer.Authorizer   = (*Authorizer)(nil)
	_ authorizer.RuleResolver = (*Authorizer)(nil)
)

// New returns an Authorizer that has no opinion until Start or Use.
func New() *Authorizer { return &Authorizer{} }

// Start reconciles the bootstrap policy (Policy) through cfg, which must reach the API server
// as a member of system:masters (the loopback identity), then starts informers on the RBAC
// objects and returns once they have synced; they run until ctx is done. The server must be
// serving: Start retries the policy until it succeeds or ctx ends.
func (a *Authorizer) Start(ctx context.Context, cfg *rest.Config) error {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("rbac: %w", err)
	}
	for {
		err = Reconcile(ctx, client, Policy())
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rbac: reconciling the bootstrap policy: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return a.StartInformers(ctx, informers.NewSharedInformerFactory(client, 0))
}

// StartInformers reads the RBAC objects through factory's informers (already started or not:
// it starts the factory) and returns once they have synced.
func (a *Authorizer) StartInformers(ctx context.Context, factory informers.SharedInformerFactory) error {
	rb := factory.Rbac().V1()
	for _, i := range []cache.SharedIndexInformer{rb.RoleBindings().Informer(), rb.ClusterRoleBindings().Informer()} {
		if err := indexBySubject(i); err != nil {
			return fmt.Errorf("rbac: %w", err)
		}
	}
	l := &listers{
		roles:               rb.Roles().Lister(),
		clusterRoles:        rb.ClusterRoles().Lister(),
		roleBindings:        rb.RoleBindings().Informer().GetIndexer(),
		clusterRoleBindings: rb.ClusterRoleBindings().Informer().GetIndexer(),
	}
	synced := []cache.InformerSynced{
		rb.Roles().Informer().HasSynced, rb.ClusterRoles().Informer().HasSynced,
		rb.RoleBindings().Informer().HasSynced, rb.ClusterRoleBindings().Informer().HasSynced,
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("rbac: informers did not sync: %w", ctx.Err())
	}
	a.l.Store(l)
	return nil
}

// Synced reports whether the authorizer has read the RBAC objects.
func (a *Authorizer) Synced() bool { return a.l.Load() != nil }

// Authorize allows a request when a rule of a role bound to its user allows it; it has no
// opinion otherwise (RBAC never denies), with the errors met on the way as reason.
func (a *Authorizer) Authorize(ctx context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	u := attrs.GetUser()
	if u == nil {
		return authorizer.DecisionNoOpinion, "RBAC: no user on the request", nil
	}
	var allowedBy bindingSource
	allowed := false
	errs := a.visitRules(u, attrs.GetNamespace(), func(source bindingSource, rule *rbacv1.PolicyRule) bool {
		if ruleAllows(attrs, rule) {
			allowedBy, allowed = source, true
			return false
		}
		return true
	})
	if allowed {
		return authorizer.DecisionAllow, "RBAC: allowed by " + allowedBy.String(), nil
	}
	if len(errs) > 0 {
		return authorizer.DecisionNoOpinion, fmt.Sprintf("RBAC: %v", utilerrors.NewAggregate(errs)), nil
	}
	return authorizer.DecisionNoOpinion, "", nil
}

// ConditionsAwareAuthorize implements authorizer.Authorizer (RBAC has no conditions).
func (a *Authorizer) ConditionsAwareAuthorize(ctx context.Context, attrs authorizer.Attributes) authorizer.ConditionsAwareDecision {
	return authorizer.ConditionsAwareDecisionFromParts(a.Authorize(ctx, attrs))
}

// EvaluateConditions implements authorizer.Authorizer: RBAC never returns conditions.
func (a *Authorizer) EvaluateConditions(context.Context, authorizer.ConditionsAwareDecision, authorizer.ConditionsData) (authorizer.Decision, string, error) {
	return authorizer.DecisionDeny, "", authorizer.ErrorConditionEvaluationNotSupported
}

// RulesFor returns the rules u holds in namespace (the cluster-wide ones and, for a
// namespace, those its RoleBindings grant), for SelfSubjectRulesReview.
func (a *Authorizer) RulesFor(ctx context.Context, u user.Info, namespace string) ([]authorizer.ResourceRuleInfo, []authorizer.NonResourceRuleInfo, bool, error) {
	rules, errs := a.rulesFor(u, namespace)
	var res []authorizer.ResourceRuleInfo
	var nonRes []authorizer.NonResourceRuleInfo
	for _, r := range rules {
		if len(r.Resources) > 0 {
			res = append(res, &authorizer.DefaultResourceRuleInfo{
				Verbs: r.Verbs, APIGroups: r.APIGroups, Resources: r.Resources, ResourceNames: r.ResourceNames,
			})
		}
		if len(r.NonResourceURLs) > 0 {
			nonRes = append(nonRes, &authorizer.DefaultNonResourceRuleInfo{Verbs: r.Verbs, NonResourceURLs: r.NonResourceURLs})
		}
	}
	return res, nonRes, false, utilerrors.NewAggregate(errs)
}

// rulesFor returns every rule bound to u that applies in namespace.
func (a *Authorizer) rulesFor(u user.Info, namespace string) ([]rbacv1.PolicyRule, []error) {
	var rules []rbacv1.PolicyRule
	errs := a.visitRules(u, namespace, func(_ bindingSource, rule *rbacv1.PolicyRule) bool {
		rules = append(rules, *rule)
		return true
	})
	return rules, errs
}

// visitRules calls visit with every rule bound to u that applies in namespace ("" for
// cluster-wide only) until visit returns false, and returns the errors met (a binding to a
// missing role). It reads only the bindings naming u or its groups (subjectIndex), not every
// binding of the cluster, and, as kube-apiserver's rule resolver, describes a binding
// (source) only for the reason of the rule that allows.
func (a *Authorizer) visitRules(u user.Info, namespace string, visit func(source bindingSource, rule *rbacv1.PolicyRule) bool) []error {
	l := a.l.Load()
	if l == nil {
		return []error{errNotSynced}
	}
	var errs []error
	crbs, err := bindingsOf[rbacv1.ClusterRoleBinding](l.clusterRoleBindings, u, "")
	if err != nil {
		return []error{err}
	}
	for _, b := range crbs {
		s, ok := appliesToAny(u, b.Subjects, "")
		if !ok {
			continue
		}
		rules, err := l.roleRules(b.RoleRef, "")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		source := bindingSource{name: b.Name, ref: b.RoleRef, subject: s}
		for i := range rules {
			if !visit(source, &rules[i]) {
				return nil
			}
		}
	}
	if namespace == "" {
		return errs
	}
	rbs, err := bindingsOf[rbacv1.RoleBinding](l.roleBindings, u, namespace)
	if err != nil {
		return append(errs, err)
	}
	for _, b := range rbs {
		s, ok := appliesToAny(u, b.Subjects, namespace)
		if !ok {
			continue
		}
		rules, err := l.roleRules(b.RoleRef, namespace)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		source := bindingSource{name: b.Name, namespace: namespace, ref: b.RoleRef, subject: s}
		for i := range rules {
			if !visit(source, &rules[i]) {
				return nil
			}
		}
	}
	return errs
}

// bindingSource is the binding a rule was reached through: a ClusterRoleBinding (namespace
// "") or a RoleBinding, the role it refers to and the subject that named the user.
type bindingSource struct {
	name, namespace string
	ref             rbacv1.RoleRef
	subject         rbacv1.Subject
}

// String names the binding as upstream's reasons do: ClusterRoleBinding "NAME" of ClusterRole
// "ROLE" to Group "G", RoleBinding "NAME/NAMESPACE" of Role "ROLE" to ServiceAccount "SA/NS".
func (s bindingSource) String() string {
	b := make([]byte, 0, 128)
	if s.namespace == "" {
		b = append(b, "ClusterRoleBinding "...)
		b = strconv.AppendQuote(b, s.name)
	} else {
		b = append(b, "RoleBinding "...)
		b = strconv.AppendQuote(b, s.name+"/"+s.namespace)
	}
	b = append(b, " of "...)
	b = append(b, s.ref.Kind...)
	b = append(b, ' ')
	b = strconv.AppendQuote(b, s.ref.Name)
	b = append(b, " to "...)
	b = appendSubject(b, s.subject, s.namespace)
	return string(b)
}

// roleRules returns the rules of the role a binding in namespace refers to.
func (l *listers) roleRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	switch ref.Kind {
	case "Role":
		r, err := l.roles.Roles(namespace).Get(ref.Name)
		if err != nil {
			return nil, err
		}
		return r.Rules, nil
	case "ClusterRole":
		r, err := l.clusterRoles.Get(ref.Name)
		if err != nil {
			return nil, err
		}
		return r.Rules, nil
	}
	return nil, fmt.Errorf("unsupported role reference kind: %q", ref.Kind)
}

// appendSubject names a subject of a binding in bindingNamespace as upstream's reasons do:
// Kind "NAME", a ServiceAccount as Kind "NAME/NAMESPACE".
func appendSubject(b []byte, s rbacv1.Subject, bindingNamespace string) []byte {
	b = append(b, s.Kind...)
	b = append(b, ' ')
	if s.Kind != rbacv1.ServiceAccountKind {
		return strconv.AppendQuote(b, s.Name)
	}
	ns := s.Namespace
	if ns == "" {
		ns = bindingNamespace
	}
	return strconv.AppendQuote(b, s.Name+"/"+ns)
}
