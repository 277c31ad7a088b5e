package rbac

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-helpers/auth/rbac/reconciliation"
)

// Labels and annotations of the bootstrap policy, as Kubernetes names them.
const (
	// BootstrappingLabel marks every object of the bootstrap policy (value rbac-defaults).
	BootstrappingLabel = "kubernetes.io/bootstrapping"
	// AutoUpdateAnnotation "false" on a bootstrap role or binding keeps the user's changes: the
	// reconciliation at start neither adds rules nor subjects to it.
	AutoUpdateAnnotation = "rbac.authorization.kubernetes.io/autoupdate"
	// AggregateToAdmin, AggregateToEdit and AggregateToView label a ClusterRole whose rules the
	// admin, edit and view roles take in.
	AggregateToAdmin = "rbac.authorization.k8s.io/aggregate-to-admin"
	AggregateToEdit  = "rbac.authorization.k8s.io/aggregate-to-edit"
	AggregateToView  = "rbac.authorization.k8s.io/aggregate-to-view"
)

// Verb sets of the bootstrap roles.
var (
	read      = []string{"get", "list", "watch"}
	write     = []string{"create", "update", "patch", "delete", "deletecollection"}
	readWrite = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
)

// BootstrapPolicy is the set of roles and bindings every cluster starts with.
type BootstrapPolicy struct {
	ClusterRoles        []rbacv1.ClusterRole
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
}

// rule builds a resource rule.
func rule(verbs []string, groups []string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources}
}

// named narrows a rule to resource names.
func named(r rbacv1.PolicyRule, names ...string) rbacv1.PolicyRule {
	r.ResourceNames = names
	return r
}

// urls builds a non-resource rule.
func urls(verbs []string, paths ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, NonResourceURLs: paths}
}

func verbs(v ...string) []string  { return v }
func groups(g ...string) []string { return g }

var (
	core          = groups("")
	apps          = groups("apps")
	batch         = groups("batch")
	autoscaling   = groups("autoscaling")
	policyGroup   = groups("policy")
	networking    = groups("networking.k8s.io")
	extensions    = groups("extensions")
	discovery     = groups("discovery.k8s.io")
	coordination  = groups("coordination.k8s.io")
	events        = groups("events.k8s.io")
	storage       = groups("storage.k8s.io")
	authnGroup    = groups("authentication.k8s.io")
	authzGroup    = groups("authorization.k8s.io")
	rbacGroup     = groups(rbacv1.GroupName)
	certificates  = groups("certificates.k8s.io")
	eventsCreates = verbs("create", "update", "patch")
)

func clusterRole(name string, labels map[string]string, rules ...rbacv1.PolicyRule) rbacv1.ClusterRole {
	l := map[string]string{BootstrappingLabel: "rbac-defaults"}
	for k, v := range labels {
		l[k] = v
	}
	return rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l, Annotations: map[string]string{AutoUpdateAnnotation: "true"}},
		Rules:      rules,
	}
}

func aggregated(r rbacv1.ClusterRole, label string) rbacv1.ClusterRole {
	r.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{label: "true"}}}}
	return r
}

func clusterRoleBinding(name, role string, subjects ...rbacv1.Subject) rbacv1.ClusterRoleBinding {
	return rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{BootstrappingLabel: "rbac-defaults"},
			Annotations: map[string]string{AutoUpdateAnnotation: "true"}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects: subjects,
	}
}

func userSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func groupSubject(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func saSubject(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

// Policy returns the bootstrap policy of a kubeadm cluster: the user-facing roles
// (cluster-admin, admin, edit, view and the aggregate-to-* roles that fill them), the
// discovery and public-info roles, the component roles (node, node-proxier, kube-scheduler,
// kube-controller-manager, kube-dns, auth-delegator, monitoring) and their bindings, the
// system:controller:* roles of the controllers clusterkit runs, bound to their kube-system
// ServiceAccounts, and kubeadm's kubeadm:cluster-admins binding.
func Policy() BootstrapPolicy {
	ctlRoles, ctlBindings := controllerRoles()
	return BootstrapPolicy{
		ClusterRoles:        append(clusterRoles(), ctlRoles...),
		ClusterRoleBindings: append(clusterRoleBindings(), ctlBindings...),
	}
}

func clusterRoles() []rbacv1.ClusterRole {
	return []rbacv1.ClusterRole{
		clusterRole("cluster-admin", nil,
			rule(verbs("*"), groups("*"), "*"),
			urls(verbs("*"), "*")),
		aggregated(clusterRole("admin", nil), AggregateToAdmin),
		aggregated(clusterRole("edit", map[string]string{AggregateToAdmin: "true"}), AggregateToEdit),
		aggregated(clusterRole("view", map[string]string{AggregateToEdit: "true"}), AggregateToView),
		clusterRole("system:aggregate-to-admin", map[string]string{AggregateToAdmin: "true"},
			rule(verbs("create"), authzGroup, "localsubjectaccessreviews"),
			rule(readWrite, rbacGroup, "roles", "rolebindings")),
		clusterRole("system:aggregate-to-edit", map[string]string{AggregateToEdit: "true"},
			rule(read, core, "pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"),
			rule(verbs("impersonate"), core, "serviceaccounts"),
			rule(write, core, "pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"),
			rule(verbs("create"), core, "pods/eviction"),
			rule(write, core, "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
				"services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets", "events"),
			rule(verbs("create"), core, "serviceaccounts/token"),
			rule(write, apps, "statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
				"deployments/rollback", "replicasets", "replicasets/scale"),
			rule(write, autoscaling, "horizontalpodautoscalers"),
			rule(write, batch, "jobs", "cronjobs"),
			rule(write, extensions, "daemonsets", "deployments", "deployments/scale", "deployments/rollback", "ingresses",
				"replicasets", "replicasets/scale", "replicationcontrollers/scale", "networkpolicies"),
			rule(write, policyGroup, "poddisruptionbudgets"),
			rule(write, networking, "networkpolicies", "ingresses"),
			rule(readWrite, coordination, "leases")),
		clusterRole("system:aggregate-to-view", map[string]string{AggregateToView: "true"},
			rule(read, core, "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
				"services", "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps"),
			rule(read, core, "limitranges", "resourcequotas", "bindings", "events", "pods/status", "resourcequotas/status",
				"namespaces/status", "replicationcontrollers/status", "pods/log"),
			rule(read, core, "namespaces"),
			rule(read, discovery, "endpointslices"),
			rule(read, apps, "controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
				"daemonsets", "daemonsets/status", "deployments", "deployments/status", "deployments/scale",
				"replicasets", "replicasets/status", "replicasets/scale"),
			rule(read, autoscaling, "horizontalpodautoscalers", "horizontalpodautoscalers/status"),
			rule(read, batch, "jobs", "cronjobs", "cronjobs/status", "jobs/status"),
			rule(read, extensions, "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
				"ingresses", "ingresses/status", "replicasets", "replicasets/scale", "replicasets/status",
				"replicationcontrollers/scale", "networkpolicies"),
			rule(read, policyGroup, "poddisruptionbudgets", "poddisruptionbudgets/status"),
			rule(read, networking, "networkpolicies", "ingresses", "ingresses/status")),
		// metrics-server's role (its deployment manifest), as the server serves metrics.k8s.io
		// itself: whoever may view pods may read their metrics (kubectl top).
		clusterRole("system:aggregated-metrics-reader", map[string]string{AggregateToView: "true", AggregateToEdit: "true", AggregateToAdmin: "true"},
			rule(read, []string{"metrics.k8s.io"}, "pods", "nodes")),
		clusterRole("system:discovery", nil,
			urls(verbs("get"), "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
				"/readyz", "/version", "/version/")),
		clusterRole("system:basic-user", nil,
			rule(verbs("create"), authzGroup, "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
			rule(verbs("create"), authnGroup, "selfsubjectreviews")),
		clusterRole("system:public-info-viewer", nil,
			urls(verbs("get"), "/healthz", "/livez", "/readyz", "/version", "/version/")),
		clusterRole("system:service-account-issuer-discovery", nil,
			urls(verbs("get"), "/.well-known/openid-configuration", "/.well-known/openid-configuration/",
				"/openid/v1/jwks", "/openid/v1/jwks/")),
		clusterRole("system:auth-delegator", nil,
			rule(verbs("create"), authnGroup, "tokenreviews"),
			rule(verbs("create"), authzGroup, "subjectaccessreviews")),
		clusterRole("system:monitoring", nil,
			urls(verbs("get"), "/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*", "/readyz/*", "/healthz/*")),
		clusterRole("system:node", nil,
			rule(verbs("create"), authnGroup, "tokenreviews"),
			rule(verbs("create"), authzGroup, "subjectaccessreviews", "localsubjectaccessreviews"),
			rule(read, core, "services"),
			rule(verbs("create", "get", "list", "watch"), core, "nodes"),
			rule(verbs("update", "patch"), core, "nodes/status"),
			rule(verbs("update", "patch"), core, "nodes"),
			rule(eventsCreates, core, "events"),
			rule(eventsCreates, events, "events"),
			rule(read, core, "pods"),
			rule(verbs("create", "delete"), core, "pods"),
			rule(verbs("update", "patch"), core, "pods/status"),
			rule(verbs("create"), core, "pods/eviction"),
			rule(verbs("get"), core, "secrets", "configmaps", "persistentvolumeclaims", "persistentvolumes", "endpoints"),
			rule(verbs("create"), core, "serviceaccounts/token"),
			rule(verbs("get", "update", "patch"), core, "persistentvolumeclaims/status"),
			rule(verbs("get", "create", "update", "patch", "delete"), coordination, "leases"),
			rule(read, storage, "csidrivers", "csinodes", "volumeattachments"),
			rule(verbs("create", "get", "list", "watch"), certificates, "certificatesigningrequests"),
			rule(read, certificates, "clustertrustbundles"),
			rule(verbs("create", "get", "list", "watch"), certificates, "podcertificaterequests")),
		clusterRole("system:node-proxier", nil,
			rule(verbs("list", "watch"), core, "services", "endpoints"),
			rule(verbs("get", "list", "watch"), core, "nodes"),
			rule(eventsCreates, core, "events"),
			rule(eventsCreates, events, "events"),
			rule(verbs("list", "watch"), discovery, "endpointslices")),
		clusterRole("system:kube-scheduler", nil,
			rule(eventsCreates, core, "events"),
			rule(eventsCreates, events, "events"),
			rule(verbs("create"), coordination, "leases"),
			named(rule(verbs("get", "update"), coordination, "leases"), "kube-scheduler"),
			rule(verbs("create"), core, "endpoints"),
			named(rule(verbs("get", "update"), core, "endpoints"), "kube-scheduler"),
			rule(read, core, "nodes"),
			rule(verbs("get", "list", "watch", "delete"), core, "pods"),
			rule(verbs("create"), core, "bindings", "pods/binding"),
			rule(verbs("patch", "update"), core, "pods/status"),
			rule(read, core, "replicationcontrollers", "services", "namespaces", "persistentvolumeclaims", "persistentvolumes"),
			rule(read, apps, "replicasets", "statefulsets"),
			rule(read, policyGroup, "poddisruptionbudgets"),
			rule(verbs("create"), authnGroup, "tokenreviews"),
			rule(verbs("create"), authzGroup, "subjectaccessreviews"),
			rule(read, storage, "csinodes", "csidrivers", "csistoragecapacities", "storageclasses")),
		clusterRole("system:kube-controller-manager", nil,
			rule(eventsCreates, core, "events"),
			rule(eventsCreates, events, "events"),
			rule(verbs("create"), coordination, "leases"),
			named(rule(verbs("get", "update"), coordination, "leases"), "kube-controller-manager"),
			rule(verbs("create"), core, "endpoints"),
			named(rule(verbs("get", "update"), core, "endpoints"), "kube-controller-manager"),
			rule(verbs("create", "delete"), core, "secrets"),
			rule(verbs("get"), core, "secrets"),
			rule(verbs("create"), core, "serviceaccounts"),
			rule(verbs("create"), core, "serviceaccounts/token"),
			rule(verbs("list", "watch"), groups("*"), "*"),
			rule(verbs("get"), core, "configmaps", "namespaces", "serviceaccounts"),
			rule(verbs("create"), authnGroup, "tokenreviews"),
			rule(verbs("create"), authzGroup, "subjectaccessreviews")),
		clusterRole("system:kube-dns", nil,
			rule(verbs("list", "watch"), core, "endpoints", "services"),
			rule(verbs("list", "watch"), discovery, "endpointslices")),
	}
}

func clusterRoleBindings() []rbacv1.ClusterRoleBinding {
	admins := clusterRoleBinding("kubeadm:cluster-admins", "cluster-admin", groupSubject("kubeadm:cluster-admins"))
	// kubeadm creates its binding once and leaves it to the administrator.
	delete(admins.Labels, BootstrappingLabel)
	admins.Annotations = nil
	return []rbacv1.ClusterRoleBinding{
		clusterRoleBinding("cluster-admin", "cluster-admin", groupSubject(user.SystemPrivilegedGroup)),
		clusterRoleBinding("system:discovery", "system:discovery", groupSubject(user.AllAuthenticated)),
		clusterRoleBinding("system:basic-user", "system:basic-user", groupSubject(user.AllAuthenticated)),
		clusterRoleBinding("system:public-info-viewer", "system:public-info-viewer",
			groupSubject(user.AllAuthenticated), groupSubject(user.AllUnauthenticated)),
		clusterRoleBinding("system:monitoring", "system:monitoring", groupSubject("system:monitoring")),
		clusterRoleBinding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery",
			groupSubject("system:serviceaccounts")),
		clusterRoleBinding("system:node-proxier", "system:node-proxier", userSubject("system:kube-proxy")),
		clusterRoleBinding("system:kube-scheduler", "system:kube-scheduler", userSubject("system:kube-scheduler")),
		clusterRoleBinding("system:kube-controller-manager", "system:kube-controller-manager", userSubject("system:kube-controller-manager")),
		clusterRoleBinding("system:kube-dns", "system:kube-dns", saSubject("kube-system", "kube-dns")),
		admins,
	}
}

// Reconcile brings the cluster's RBAC objects up to policy as kube-apiserver's
// rbac/bootstrap-roles post-start hook does: it creates what is missing, adds missing rules,
// aggregation selectors and subjects, keeps whatever else users added, and leaves alone an
// object annotated rbac.authorization.kubernetes.io/autoupdate: "false".
func Reconcile(ctx context.Context, client kubernetes.Interface, policy BootstrapPolicy) error {
	for i := range policy.ClusterRoles {
		if err := ctx.Err(); err != nil {
			return err
		}
		opts := reconciliation.ReconcileRoleOptions{
			Role:    reconciliation.ClusterRoleRuleOwner{ClusterRole: policy.ClusterRoles[i].DeepCopy()},
			Client:  reconciliation.ClusterRoleModifier{Client: client.RbacV1().ClusterRoles()},
			Confirm: true,
		}
		if _, err := opts.Run(); err != nil {
			return fmt.Errorf("reconciling ClusterRole %s: %w", policy.ClusterRoles[i].Name, err)
		}
	}
	for i := range policy.ClusterRoleBindings {
		if err := ctx.Err(); err != nil {
			return err
		}
		opts := reconciliation.ReconcileRoleBindingOptions{
			RoleBinding: reconciliation.ClusterRoleBindingAdapter{ClusterRoleBinding: policy.ClusterRoleBindings[i].DeepCopy()},
			Client:      reconciliation.ClusterRoleBindingClientAdapter{Client: client.RbacV1().ClusterRoleBindings()},
			Confirm:     true,
		}
		if _, err := opts.Run(); err != nil {
			return fmt.Errorf("reconciling ClusterRoleBinding %s: %w", policy.ClusterRoleBindings[i].Name, err)
		}
	}
	return nil
}

// NodeRules are the rules of the system:node ClusterRole: what the Node authorizer allows a
// kubelet on resources it does not narrow to its own node's objects.
func NodeRules() []rbacv1.PolicyRule {
	for _, r := range clusterRoles() {
		if r.Name == "system:node" {
			return r.Rules
		}
	}
	return nil
}
