// Package rbac is Kubernetes' RBAC authorization for clusterkit's API server: an
// authorizer.Authorizer and authorizer.RuleResolver over the Roles, ClusterRoles,
// RoleBindings and ClusterRoleBindings it reads from the API server through informers
// (Authorizer), the bootstrap policy a kubeadm cluster has and its reconciliation at start
// (Policy, Reconcile), the escalation check on writes of roles and bindings (an admission
// plugin, EscalationCheck), and the composition kube-apiserver uses: system:masters is
// allowed everything, then the other authorizers, then RBAC (NewServerAuthorizer).
//
// The semantics follow upstream's plugin/pkg/auth/authorizer/rbac and
// pkg/apis/rbac/v1/helpers.go: allow-only (no opinion when no rule matches), ClusterRoleBindings
// grant everywhere, RoleBindings only in their namespace, rules with resourceNames never match a
// request without a name.
package rbac
