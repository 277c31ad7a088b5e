package rbac

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// controllerRolePrefix names the ClusterRole of each kube-controller-manager controller; each
// is bound to the ServiceAccount kube-system/<controller> the controller acts as when the
// controller manager runs with --use-service-account-credentials (kubeadm's default).
const controllerRolePrefix = "system:controller:"

// controllerEvents lets a controller record events.
func controllerEvents() rbacv1.PolicyRule {
	return rule(eventsCreates, groups("", "events.k8s.io"), "events")
}

// controllerRoles are the ClusterRoles of the controllers clusterkit's controller manager runs,
// with upstream's rules, and their bindings.
func controllerRoles() ([]rbacv1.ClusterRole, []rbacv1.ClusterRoleBinding) {
	roles := []rbacv1.ClusterRole{
		clusterRole(controllerRolePrefix+"clusterrole-aggregation-controller", nil,
			rule(verbs("escalate", "get", "list", "watch", "update", "patch"), rbacGroup, "clusterroles")),
		clusterRole(controllerRolePrefix+"deployment-controller", nil,
			rule(verbs("get", "list", "watch", "update"), groups("extensions", "apps"), "deployments"),
			rule(verbs("update"), groups("extensions", "apps"), "deployments/status", "deployments/finalizers"),
			rule(verbs("get", "list", "watch", "create", "update", "patch", "delete"), groups("apps", "extensions"), "replicasets"),
			rule(verbs("get", "list", "watch", "update"), core, "pods"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"replicaset-controller", nil,
			rule(verbs("get", "list", "watch", "update"), groups("apps", "extensions"), "replicasets"),
			rule(verbs("update"), groups("apps", "extensions"), "replicasets/status", "replicasets/finalizers"),
			rule(verbs("list", "watch", "patch", "create", "delete"), core, "pods"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"daemon-set-controller", nil,
			rule(verbs("get", "list", "watch"), groups("extensions", "apps"), "daemonsets"),
			rule(verbs("update"), groups("extensions", "apps"), "daemonsets/status", "daemonsets/finalizers"),
			rule(verbs("list", "watch"), core, "nodes"),
			rule(verbs("list", "watch", "create", "delete", "patch"), core, "pods"),
			rule(verbs("create"), core, "pods/binding"),
			rule(verbs("create", "delete", "update", "patch", "list", "watch"), groups("apps"), "controllerrevisions"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"job-controller", nil,
			rule(verbs("get", "list", "watch", "update", "patch"), groups("batch"), "jobs"),
			rule(verbs("update"), groups("batch"), "jobs/status"),
			rule(verbs("update"), groups("batch"), "jobs/finalizers"),
			rule(verbs("list", "watch", "create", "delete", "patch"), core, "pods"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"ttl-after-finished-controller", nil,
			rule(verbs("delete", "get", "list", "watch"), groups("batch"), "jobs"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"endpointslice-controller", nil,
			rule(read, core, "services", "pods", "nodes"),
			rule(verbs("update"), core, "services/finalizers"),
			rule(verbs("get", "list", "watch", "create", "update", "delete"), discovery, "endpointslices"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"endpoint-controller", nil,
			rule(read, core, "services", "pods"),
			rule(verbs("get", "list", "create", "update", "delete"), core, "endpoints"),
			rule(verbs("create"), core, "endpoints/restricted"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"endpointslicemirroring-controller", nil,
			rule(read, core, "services", "endpoints"),
			rule(verbs("update"), core, "services/finalizers", "endpoints/finalizers"),
			rule(verbs("get", "list", "create", "update", "delete"), discovery, "endpointslices"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"generic-garbage-collector", nil,
			rule(verbs("get", "list", "watch", "patch", "update", "delete"), groups("*"), "*"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"namespace-controller", nil,
			rule(verbs("get", "list", "watch", "delete"), core, "namespaces"),
			rule(verbs("update"), core, "namespaces/finalize", "namespaces/status"),
			rule(verbs("get", "list", "watch", "delete", "deletecollection"), groups("*"), "*")),
		clusterRole(controllerRolePrefix+"node-controller", nil,
			rule(verbs("get", "list", "watch", "update", "delete", "patch"), core, "nodes"),
			rule(verbs("patch", "update"), core, "nodes/status", "pods/status"),
			rule(verbs("list", "watch", "get", "delete"), core, "pods"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"service-account-controller", nil,
			rule(verbs("create"), core, "serviceaccounts"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"disruption-controller", nil,
			rule(verbs("get", "list", "watch"), groups("extensions", "apps"), "deployments"),
			rule(verbs("get", "list", "watch"), groups("apps", "extensions"), "replicasets"),
			rule(verbs("get", "list", "watch"), core, "replicationcontrollers"),
			rule(verbs("get", "list", "watch"), groups("policy"), "poddisruptionbudgets"),
			rule(verbs("get", "list", "watch"), groups("apps"), "statefulsets"),
			rule(verbs("update"), groups("policy"), "poddisruptionbudgets/status"),
			rule(verbs("get"), groups("*"), "*/scale"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"root-ca-cert-publisher", nil,
			rule(verbs("create", "update"), core, "configmaps"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"replication-controller", nil,
			rule(verbs("get", "list", "watch", "update"), core, "replicationcontrollers"),
			rule(verbs("update"), core, "replicationcontrollers/status", "replicationcontrollers/finalizers"),
			rule(verbs("list", "watch", "patch", "create", "delete"), core, "pods"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"resourcequota-controller", nil,
			rule(verbs("list", "watch"), groups("*"), "*"),
			rule(verbs("update"), core, "resourcequotas/status"),
			controllerEvents()),
		clusterRole(controllerRolePrefix+"pod-garbage-collector", nil,
			rule(verbs("list", "watch", "delete"), core, "pods"),
			rule(verbs("get", "list"), core, "nodes"),
			rule(verbs("patch"), core, "pods/status")),
	}
	var bindings []rbacv1.ClusterRoleBinding
	for _, r := range roles {
		sa := r.Name[len(controllerRolePrefix):]
		bindings = append(bindings, clusterRoleBinding(r.Name, r.Name, saSubject("kube-system", sa)))
	}
	return roles, bindings
}
