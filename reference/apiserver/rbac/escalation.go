package rbac

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	rbacvalidation "k8s.io/component-helpers/auth/rbac/validation"
)

// EscalationCheck is the admission plugin that keeps RBAC from being a way up: a user may
// create or update a Role or ClusterRole only with rules it holds itself (where the role
// applies), and a binding only to a role whose rules it holds, unless it may escalate (the
// escalate verb on the role) or bind (the bind verb on the referenced role), or is a member of
// system:masters. Upstream does this in the RBAC storage (pkg/registry/rbac).
type EscalationCheck struct {
	*admission.Handler
	rbac  *Authorizer
	authz authorizer.Authorizer
}

var _ admission.ValidationInterface = (*EscalationCheck)(nil)

// NewEscalationCheck returns the plugin; rbac resolves a user's rules and roles, authz (the
// server's authorizer) decides the escalate and bind verbs.
func NewEscalationCheck(rbac *Authorizer, authz authorizer.Authorizer) *EscalationCheck {
	return &EscalationCheck{Handler: admission.NewHandler(admission.Create, admission.Update), rbac: rbac, authz: authz}
}

// Validate implements admission.ValidationInterface.
func (e *EscalationCheck) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().Group != rbacv1.GroupName || a.GetSubresource() != "" {
		return nil
	}
	u := a.GetUserInfo()
	if u == nil || privileged(u) {
		return nil
	}
	gr := a.GetResource().GroupResource()
	switch obj := a.GetObject().(type) {
	case *rbacv1.Role:
		if old, ok := a.GetOldObject().(*rbacv1.Role); ok && reflect.DeepEqual(old.Rules, obj.Rules) {
			return nil
		}
		if e.allowed(ctx, u, "escalate", "roles", obj.Namespace, obj.Name) {
			return nil
		}
		if err := e.confirmNoEscalation(u, obj.Namespace, obj.Rules); err != nil {
			return apierrors.NewForbidden(gr, obj.Name, err)
		}
	case *rbacv1.ClusterRole:
		if old, ok := a.GetOldObject().(*rbacv1.ClusterRole); ok && reflect.DeepEqual(old.Rules, obj.Rules) &&
			reflect.DeepEqual(old.AggregationRule, obj.AggregationRule) {
			return nil
		}
		if e.allowed(ctx, u, "escalate", "clusterroles", "", obj.Name) {
			return nil
		}
		if obj.AggregationRule != nil {
			full := []rbacv1.PolicyRule{rule(verbs("*"), groups("*"), "*"), urls(verbs("*"), "*")}
			if err := e.confirmNoEscalation(u, "", full); err != nil {
				return apierrors.NewForbidden(gr, obj.Name, errors.New("must have cluster-admin privileges to use an aggregationRule"))
			}
		}
		if err := e.confirmNoEscalation(u, "", obj.Rules); err != nil {
			return apierrors.NewForbidden(gr, obj.Name, err)
		}
	case *rbacv1.RoleBinding:
		return e.checkBinding(ctx, u, gr, obj.Name, obj.Namespace, obj.RoleRef)
	case *rbacv1.ClusterRoleBinding:
		return e.checkBinding(ctx, u, gr, obj.Name, "", obj.RoleRef)
	}
	return nil
}

// checkBinding allows a binding when the user may bind the referenced role or already holds
// its rules where the binding applies.
func (e *EscalationCheck) checkBinding(ctx context.Context, u user.Info, gr schema.GroupResource, name, namespace string, ref rbacv1.RoleRef) error {
	resource := "clusterroles"
	if ref.Kind == "Role" {
		resource = "roles"
	}
	if e.allowed(ctx, u, "bind", resource, namespace, ref.Name) {
		return nil
	}
	l := e.rbac.l.Load()
	if l == nil {
		return apierrors.NewForbidden(gr, name, errNotSynced)
	}
	rules, err := l.roleRules(ref, namespace)
	if err != nil {
		return apierrors.NewForbidden(gr, name, err)
	}
	if err := e.confirmNoEscalation(u, namespace, rules); err != nil {
		return apierrors.NewForbidden(gr, name, err)
	}
	return nil
}

// allowed asks the server's authorizer whether u may use verb on one RBAC object.
func (e *EscalationCheck) allowed(ctx context.Context, u user.Info, verb, resource, namespace, name string) bool {
	d, _, err := e.authz.Authorize(ctx, authorizer.AttributesRecord{
		User: u, Verb: verb, APIGroup: rbacv1.GroupName, APIVersion: "*", Resource: resource,
		Namespace: namespace, Name: name, ResourceRequest: true,
	})
	return err == nil && d == authorizer.DecisionAllow
}

// confirmNoEscalation fails unless the rules u holds in namespace cover rules, with upstream's
// message listing what is missing.
func (e *EscalationCheck) confirmNoEscalation(u user.Info, namespace string, rules []rbacv1.PolicyRule) error {
	owned, errs := e.rbac.rulesFor(u, namespace)
	covered, missing := rbacvalidation.Covers(owned, rules)
	if covered {
		return nil
	}
	parts := make([]string, 0, len(missing))
	for _, r := range missing {
		parts = append(parts, "{"+r.String()+"}")
	}
	msg := fmt.Sprintf("user %q (groups=%q) is attempting to grant RBAC permissions not currently held:\n%s",
		u.GetName(), u.GetGroups(), strings.Join(parts, "\n"))
	if len(errs) > 0 {
		msg += fmt.Sprintf("; resolution errors: %v", utilerrors.NewAggregate(errs))
	}
	return errors.New(msg)
}

// privileged reports membership of system:masters, which may always escalate.
func privileged(u user.Info) bool {
	for _, g := range u.GetGroups() {
		if g == user.SystemPrivilegedGroup {
			return true
		}
	}
	return false
}
