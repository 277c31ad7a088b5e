// Package clusterroleaggregation is the reference ClusterRole aggregation controller
// (kube-controller-manager's clusterrole-aggregation): the rules of a ClusterRole with an
// aggregationRule are kept equal to the union of the rules of the ClusterRoles its
// clusterRoleSelectors match, so admin, edit and view grow when a ClusterRole labelled
// rbac.authorization.k8s.io/aggregate-to-view (-edit, -admin) appears.
package clusterroleaggregation
