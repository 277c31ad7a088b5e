package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Sources of the RBAC behaviours.
const (
	srcRBAC           = "Kubernetes: Using RBAC Authorization (kubernetes.io/docs/reference/access-authn-authz/rbac)"
	srcRBACResources  = "Kubernetes: Using RBAC Authorization, referring to resources (kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources)"
	srcRBACSubjects   = "Kubernetes: Using RBAC Authorization, referring to subjects (kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-subjects)"
	srcRBACAggregated = "Kubernetes: Using RBAC Authorization, aggregated ClusterRoles (kubernetes.io/docs/reference/access-authn-authz/rbac/#aggregated-clusterroles)"
	srcRBACEscalation = "Kubernetes: Using RBAC Authorization, privilege escalation prevention (kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping)"
	srcRBACDefaults   = "Kubernetes: Using RBAC Authorization, default roles and role bindings (kubernetes.io/docs/reference/access-authn-authz/rbac/#default-roles-and-role-bindings)"
	srcRBACAPI        = "Kubernetes RBAC API validation (pkg/apis/rbac/validation)"
	srcAccessReview   = "Kubernetes: Authorization, checking API access (kubernetes.io/docs/reference/access-authn-authz/authorization/#checking-api-access)"
	srcAuthzForbidden = "Kubernetes: Authorization (kubernetes.io/docs/reference/access-authn-authz/authorization), kube-apiserver's forbidden responses"
)

// rbacSpecs are the auth behaviours of RBAC authorization, the review APIs, impersonation.
func rbacSpecs() []spec[*authEnv] {
	return []spec[*authEnv]{
		{auth("auth.rbac.rolebinding-namespace", "a RoleBinding to a Role MUST grant its subject exactly the Role's verbs on the Role's resources in the binding's namespace, and nothing in another namespace", srcRBAC), specRoleBindingNamespace},
		{auth("auth.rbac.clusterrolebinding-cluster-wide", "a ClusterRoleBinding MUST grant the ClusterRole's rules in every namespace and on cluster-scoped resources", srcRBAC), specClusterRoleBindingEverywhere},
		{auth("auth.rbac.clusterrole-in-rolebinding", "a ClusterRole bound by a RoleBinding MUST grant its rules only in the RoleBinding's namespace", srcRBAC), specClusterRoleInRoleBinding},
		{auth("auth.rbac.resource-names", "a rule with resourceNames MUST allow its verbs only on the named objects and MUST NOT allow list", srcRBACResources), specResourceNames},
		{auth("auth.rbac.subresources", "a rule on pods/log MUST NOT grant pods, and a rule on pods MUST NOT grant pods/log", srcRBACResources), specSubresources},
		{auth("auth.rbac.group-subject", "a binding to a Group MUST grant every user in the group and no user outside it", srcRBACSubjects), specGroupSubject},
		{auth("auth.rbac.serviceaccount-subject", "a binding to a ServiceAccount MUST grant requests as system:serviceaccount:<namespace>:<name> and no other account, and a binding to the group system:serviceaccounts:<namespace> MUST grant every ServiceAccount of that namespace", srcRBACSubjects), specServiceAccountSubject},
		{auth("auth.rbac.non-resource-url", "a ClusterRole rule on a non-resource URL ending in * MUST grant its verbs on every path under that prefix and on no other path", srcRBACResources), specNonResourceURL},
		{auth("auth.rbac.aggregation", "a ClusterRole labelled rbac.authorization.k8s.io/aggregate-to-view=true MUST have its rules added to the view ClusterRole within a bounded time, and removed when it is deleted", srcRBACAggregated), specAggregation},
		{auth("auth.rbac.escalation", "a user allowed to create Roles MUST be refused (403) a Role granting a permission it does not hold, and MUST be allowed one granting only permissions it holds", srcRBACEscalation), specEscalation},
		{auth("auth.rbac.bind-escalation", "a user allowed to create RoleBindings MUST be refused (403) a binding to a role whose permissions it does not hold", srcRBACEscalation), specBindEscalation},
		{auth("auth.rbac.self-subject-access-review", "a SelfSubjectAccessReview MUST answer allowed exactly for what RBAC grants the caller", srcAccessReview), specSelfSubjectAccessReview},
		{auth("auth.rbac.subject-access-review", "a SubjectAccessReview MUST answer allowed exactly for what RBAC grants the named user or group", srcAccessReview), specSubjectAccessReview},
		{auth("auth.rbac.forbidden-status", "a request RBAC does not allow MUST get 403 with reason Forbidden and the message <resource> is forbidden: User \"<name>\" cannot <verb> resource \"<resource>\" in API group \"<group>\" in the namespace \"<namespace>\"", srcAuthzForbidden), specForbiddenStatus},
		{auth("auth.rbac.validation", "a Role rule without verbs, a Role rule with nonResourceURLs and a RoleBinding whose roleRef kind is not Role or ClusterRole MUST each be rejected with 422 naming the field", srcRBACAPI), specRBACValidation},
		{auth("auth.rbac.roleref-immutable", "an update that changes a RoleBinding's roleRef MUST be rejected with 422 naming roleRef", srcRBACAPI), specRoleRefImmutable},
		{auth("auth.rbac.bootstrap-roles", "the default ClusterRoles cluster-admin, admin, edit, view, system:basic-user, system:discovery and system:public-info-viewer MUST exist, cluster-admin MUST be bound to group system:masters, and view bound in a namespace MUST grant reading pods but not Secrets", srcRBACDefaults), specBootstrapRoles},
	}
}

// rbacGrantWait bounds how long a new binding may take to be enforced (upstream's authorizer
// reads bindings through informers).
const rbacGrantWait = 30 * time.Second

// as returns a client acting as user (with groups) through impersonation by the admin.
func (e *authEnv) as(g gomega.Gomega, name string, groups ...string) kubernetes.Interface {
	cfg := rest.CopyConfig(e.server.Admin)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: name, Groups: groups}
	c, err := specClient(cfg)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "client for %s", name)
	return c
}

// user returns a user name of the spec's own.
func (e *authEnv) user(name string) string { return e.ns + "-" + name }

// outcome classifies a request's error: allowed (it got past authorization: success, 404, 409
// or 422), forbidden (403), or the unexpected error.
func outcome(err error) string {
	switch {
	case err == nil, apierrors.IsNotFound(err), apierrors.IsAlreadyExists(err), apierrors.IsConflict(err), apierrors.IsInvalid(err):
		return "allowed"
	case apierrors.IsForbidden(err):
		return "forbidden"
	}
	return "error: " + err.Error()
}

// eventuallyAllowed waits until a request is allowed (a new grant is enforced).
func eventuallyAllowed(ctx context.Context, g gomega.Gomega, what string, do func() error) {
	g.EventuallyWithOffset(1, func() string { return outcome(do()) }).WithContext(ctx).
		WithTimeout(rbacGrantWait).WithPolling(200*time.Millisecond).Should(gomega.Equal("allowed"), what)
}

// expectOutcome asserts a request's outcome now.
func expectOutcome(g gomega.Gomega, want, what string, err error) {
	g.ExpectWithOffset(1, outcome(err)).To(gomega.Equal(want), what)
}

// role and clusterRole build RBAC objects with one rule each.
func policyRule(verbs []string, group string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: []string{group}, Resources: resources}
}

func userSubj(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

func groupSubj(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: name}
}

func (e *authEnv) createRole(ctx context.Context, g gomega.Gomega, ns, name string, rules ...rbacv1.PolicyRule) {
	_, err := e.admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating Role %s/%s", ns, name)
}

// createClusterRole creates a ClusterRole of the spec's own, deleted when the spec ends.
func (e *authEnv) createClusterRole(ctx context.Context, g gomega.Gomega, r *rbacv1.ClusterRole) {
	_, err := e.admin.RbacV1().ClusterRoles().Create(ctx, r, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating ClusterRole %s", r.Name)
	e.c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.admin.RbacV1().ClusterRoles().Delete(cctx, r.Name, metav1.DeleteOptions{})
	})
}

func (e *authEnv) bindRole(ctx context.Context, g gomega.Gomega, ns, name, kind, role string, subjects ...rbacv1.Subject) {
	_, err := e.admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role},
		Subjects:   subjects,
	}, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating RoleBinding %s/%s", ns, name)
}

// bindClusterRole creates a ClusterRoleBinding of the spec's own, deleted when the spec ends.
func (e *authEnv) bindClusterRole(ctx context.Context, g gomega.Gomega, name, role string, subjects ...rbacv1.Subject) {
	_, err := e.admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   subjects,
	}, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating ClusterRoleBinding %s", name)
	e.c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.admin.RbacV1().ClusterRoleBindings().Delete(cctx, name, metav1.DeleteOptions{})
	})
}

// otherNamespace creates a second namespace for the spec.
func (e *authEnv) otherNamespace(ctx context.Context, g gomega.Gomega) string {
	ns, err := specNamespaceWithServiceAccount(ctx, e.admin, e.c, "auth")
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
	return ns
}

func configMap(name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"k": "v"}}
}

func specRoleBindingNamespace(ctx context.Context, g gomega.Gomega, e *authEnv) {
	other := e.otherNamespace(ctx, g)
	_, err := e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, configMap("seen"), metav1.CreateOptions{})
	ok(g, err, "creating a ConfigMap")
	_, err = e.admin.CoreV1().ConfigMaps(other).Create(ctx, configMap("seen"), metav1.CreateOptions{})
	ok(g, err, "creating a ConfigMap in the other namespace")
	e.createRole(ctx, g, e.ns, "cm-reader", policyRule([]string{"get", "list"}, "", "configmaps"))
	name := e.user("alice")
	e.bindRole(ctx, g, e.ns, "cm-reader", "Role", "cm-reader", userSubj(name))
	alice := e.as(g, name)
	eventuallyAllowed(ctx, g, "list configmaps in the binding's namespace", func() error {
		_, err := alice.CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
		return err
	})
	_, err = alice.CoreV1().ConfigMaps(e.ns).Get(ctx, "seen", metav1.GetOptions{})
	expectOutcome(g, "allowed", "get a ConfigMap in the binding's namespace", err)
	_, err = alice.CoreV1().ConfigMaps(e.ns).Create(ctx, configMap("new"), metav1.CreateOptions{})
	expectOutcome(g, "forbidden", "create a ConfigMap (a verb the Role does not grant)", err)
	_, err = alice.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{})
	expectOutcome(g, "forbidden", "list Secrets (a resource the Role does not name)", err)
	_, err = alice.CoreV1().ConfigMaps(other).List(ctx, metav1.ListOptions{})
	expectOutcome(g, "forbidden", "list configmaps in another namespace", err)
	_, err = alice.CoreV1().ConfigMaps(other).Get(ctx, "seen", metav1.GetOptions{})
	expectOutcome(g, "forbidden", "get a ConfigMap in another namespace", err)
	_, err = alice.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{})
	expectOutcome(g, "forbidden", "list configmaps in all namespaces", err)
}

func specClusterRoleBindingEverywhere(ctx context.Context, g gomega.Gomega, e *authEnv) {
	other := e.otherNamespace(ctx, g)
	role := e.ns + "-cm-ns-reader"
	e.createClusterRole(ctx, g, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role}, Rules: []rbacv1.PolicyRule{
		policyRule([]string{"list"}, "", "configmaps", "namespaces"),
	}})
	name := e.user("carol")
	e.bindClusterRole(ctx, g, role, role, userSubj(name))
	carol := e.as(g, name)
	eventuallyAllowed(ctx, g, "list configmaps in all namespaces", func() error {
		_, err := carol.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{})
		return err
	})
	for _, ns := range []string{e.ns, other} {
		_, err := carol.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		expectOutcome(g, "allowed", "list configmaps in "+ns, err)
	}
	_, err := carol.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	expectOutcome(g, "allowed", "list namespaces (cluster-scoped)", err)
	_, err = carol.CoreV1().ConfigMaps(other).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	expectOutcome(g, "forbidden", "get a ConfigMap (a verb the ClusterRole does not grant)", err)
}

func specClusterRoleInRoleBinding(ctx context.Context, g gomega.Gomega, e *authEnv) {
	other := e.otherNamespace(ctx, g)
	role := e.ns + "-cm-lister"
	e.createClusterRole(ctx, g, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role}, Rules: []rbacv1.PolicyRule{
		policyRule([]string{"list"}, "", "configmaps"),
	}})
	name := e.user("dave")
	e.bindRole(ctx, g, e.ns, "cm-lister", "ClusterRole", role, userSubj(name))
	dave := e.as(g, name)
	eventuallyAllowed(ctx, g, "list configmaps in the RoleBinding's namespace", func() error {
		_, err := dave.CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
		return err
	})
	_, err := dave.CoreV1().ConfigMaps(other).List(ctx, metav1.ListOptions{})
	expectOutcome(g, "forbidden", "list configmaps in another namespace", err)
	_, err = dave.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{})
	expectOutcome(g, "forbidden", "list configmaps in all namespaces", err)
}

func specResourceNames(ctx context.Context, g gomega.Gomega, e *authEnv) {
	for _, n := range []string{"named", "unnamed"} {
		_, err := e.admin.CoreV1().ConfigMaps(e.ns).Create(ctx, configMap(n), metav1.CreateOptions{})
		ok(g, err, "creating ConfigMap "+n)
	}
	e.createRole(ctx, g, e.ns, "one-cm", rbacv1.PolicyRule{
		Verbs: []string{"get", "list", "update"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"named"},
	})
	name := e.user("erin")
	e.bindRole(ctx, g, e.ns, "one-cm", "Role", "one-cm", userSubj(name))
	erin := e.as(g, name)
	eventuallyAllowed(ctx, g, "get the named ConfigMap", func() error {
		_, err := erin.CoreV1().ConfigMaps(e.ns).Get(ctx, "named", metav1.GetOptions{})
		return err
	})
	_, err := erin.CoreV1().ConfigMaps(e.ns).Get(ctx, "unnamed", metav1.GetOptions{})
	expectOutcome(g, "forbidden", "get a ConfigMap the rule does not name", err)
	_, err = erin.CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
	expectOutcome(g, "forbidden", "list configmaps (no name: resourceNames never match)", err)
	_, err = erin.CoreV1().ConfigMaps(e.ns).Create(ctx, configMap("named-too"), metav1.CreateOptions{})
	expectOutcome(g, "forbidden", "create a ConfigMap (not a verb of the rule)", err)
}

func specSubresources(ctx context.Context, g gomega.Gomega, e *authEnv) {
	e.createRole(ctx, g, e.ns, "logs-only", policyRule([]string{"get"}, "", "pods/log"))
	e.createRole(ctx, g, e.ns, "pods-only", policyRule([]string{"get"}, "", "pods"))
	logs, pods := e.user("logs"), e.user("pods")
	e.bindRole(ctx, g, e.ns, "logs-only", "Role", "logs-only", userSubj(logs))
	e.bindRole(ctx, g, e.ns, "pods-only", "Role", "pods-only", userSubj(pods))
	// The pod does not exist: a request authorization lets through gets 404, one it stops 403.
	getLog := func(c kubernetes.Interface) error {
		return c.CoreV1().Pods(e.ns).GetLogs("absent", &corev1.PodLogOptions{}).Do(ctx).Error()
	}
	getPod := func(c kubernetes.Interface) error {
		_, err := c.CoreV1().Pods(e.ns).Get(ctx, "absent", metav1.GetOptions{})
		return err
	}
	logClient, podClient := e.as(g, logs), e.as(g, pods)
	eventuallyAllowed(ctx, g, "get pods/log with a rule on pods/log", func() error { return getLog(logClient) })
	eventuallyAllowed(ctx, g, "get pods with a rule on pods", func() error { return getPod(podClient) })
	expectOutcome(g, "forbidden", "get pods with a rule only on pods/log", getPod(logClient))
	expectOutcome(g, "forbidden", "get pods/log with a rule only on pods", getLog(podClient))
}

func specGroupSubject(ctx context.Context, g gomega.Gomega, e *authEnv) {
	group := e.user("readers")
	e.createRole(ctx, g, e.ns, "cm-lister", policyRule([]string{"list"}, "", "configmaps"))
	e.bindRole(ctx, g, e.ns, "cm-lister", "Role", "cm-lister", groupSubj(group))
	member := e.as(g, e.user("member"), group)
	eventuallyAllowed(ctx, g, "list configmaps as a member of the group", func() error {
		_, err := member.CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
		return err
	})
	_, err := e.as(g, e.user("outsider"), e.user("others")).CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
	expectOutcome(g, "forbidden", "list configmaps as a user outside the group", err)
}

func specServiceAccountSubject(ctx context.Context, g gomega.Gomega, e *authEnv) {
	other := e.otherNamespace(ctx, g)
	e.createRole(ctx, g, e.ns, "cm-lister", policyRule([]string{"list"}, "", "configmaps"))
	e.createRole(ctx, g, e.ns, "secret-lister", policyRule([]string{"list"}, "", "secrets"))
	// The ServiceAccount subject without a namespace is the binding's namespace's.
	e.bindRole(ctx, g, e.ns, "cm-lister", "Role", "cm-lister", rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "robot"})
	e.bindRole(ctx, g, e.ns, "secret-lister", "Role", "secret-lister", groupSubj("system:serviceaccounts:"+other))
	sa := func(ns, name string) kubernetes.Interface {
		return e.as(g, "system:serviceaccount:"+ns+":"+name, "system:serviceaccounts", "system:serviceaccounts:"+ns, "system:authenticated")
	}
	eventuallyAllowed(ctx, g, "list configmaps as the bound ServiceAccount", func() error {
		_, err := sa(e.ns, "robot").CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
		return err
	})
	_, err := sa(e.ns, "other-robot").CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
	expectOutcome(g, "forbidden", "list configmaps as another ServiceAccount of the namespace", err)
	_, err = sa(other, "robot").CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
	expectOutcome(g, "forbidden", "list configmaps as a ServiceAccount of the same name in another namespace", err)
	_, err = e.as(g, "robot").CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
	expectOutcome(g, "forbidden", "list configmaps as a user named like the ServiceAccount", err)
	eventuallyAllowed(ctx, g, "list secrets as any ServiceAccount of the bound group's namespace", func() error {
		_, err := sa(other, "anyone").CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{})
		return err
	})
	_, err = sa(e.ns, "robot").CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{})
	expectOutcome(g, "forbidden", "list secrets as a ServiceAccount of another namespace than the group's", err)
}

// rawGet requests a path as client and returns the HTTP status.
func rawGet(ctx context.Context, c kubernetes.Interface, path string) int {
	var code int
	err := c.CoreV1().RESTClient().Get().AbsPath(path).Do(ctx).StatusCode(&code).Error()
	// client-go keeps the status of an error answer it cannot decode (kube-apiserver's
	// plain-text "404 page not found") only in the error.
	var status apierrors.APIStatus
	if code == 0 && errors.As(err, &status) {
		code = int(status.Status().Code)
	}
	return code
}

func specNonResourceURL(ctx context.Context, g gomega.Gomega, e *authEnv) {
	prefix := "/ck-rbac-probe-" + e.ns
	role := e.ns + "-probe"
	e.createClusterRole(ctx, g, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role}, Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"get"}, NonResourceURLs: []string{prefix + "/*"}},
	}})
	name := e.user("frank")
	e.bindClusterRole(ctx, g, role, role, userSubj(name))
	frank := e.as(g, name)
	// Nothing is served there: a request authorization lets through gets 404, one it stops 403.
	g.Eventually(func() int { return rawGet(ctx, frank, prefix+"/a/b") }).WithContext(ctx).WithTimeout(rbacGrantWait).
		WithPolling(200*time.Millisecond).Should(gomega.Equal(http.StatusNotFound), "GET %s/a/b must pass authorization", prefix)
	g.Expect(rawGet(ctx, frank, prefix+"-elsewhere/a")).To(gomega.Equal(http.StatusForbidden), "GET a path outside the prefix")
	g.Expect(rawGet(ctx, e.as(g, e.user("nobody")), prefix+"/a/b")).To(gomega.Equal(http.StatusForbidden), "GET the path as an unbound user")
}

func specAggregation(ctx context.Context, g gomega.Gomega, e *authEnv) {
	resource := "widgets" + fmt.Sprint(time.Now().UnixNano()%1e6)
	want := rbacv1.PolicyRule{Verbs: []string{"get", "list"}, APIGroups: []string{"conformance.clusterkit.example"}, Resources: []string{resource}}
	name := e.ns + "-aggregate-to-view"
	e.createClusterRole(ctx, g, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
		Rules:      []rbacv1.PolicyRule{want},
	})
	hasRule := func() bool {
		view, err := e.admin.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "getting ClusterRole view")
		for _, r := range view.Rules {
			if len(r.Resources) == 1 && r.Resources[0] == resource {
				return true
			}
		}
		return false
	}
	g.Eventually(hasRule).WithContext(ctx).WithTimeout(rbacGrantWait).WithPolling(200*time.Millisecond).
		Should(gomega.BeTrue(), "the view ClusterRole must take in the rule on %s", resource)
	g.Expect(e.admin.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})).To(gomega.Succeed())
	g.Eventually(hasRule).WithContext(ctx).WithTimeout(rbacGrantWait).WithPolling(200*time.Millisecond).
		Should(gomega.BeFalse(), "the view ClusterRole must lose the rule on %s once its source is deleted", resource)
}

func specEscalation(ctx context.Context, g gomega.Gomega, e *authEnv) {
	e.createRole(ctx, g, e.ns, "role-maker",
		policyRule([]string{"create", "get"}, rbacv1.GroupName, "roles"),
		policyRule([]string{"get", "list"}, "", "configmaps"))
	name := e.user("grace")
	e.bindRole(ctx, g, e.ns, "role-maker", "Role", "role-maker", userSubj(name))
	grace := e.as(g, name)
	held := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "held"}, Rules: []rbacv1.PolicyRule{policyRule([]string{"get"}, "", "configmaps")}}
	eventuallyAllowed(ctx, g, "create a Role granting only what the user holds", func() error {
		_, err := grace.RbacV1().Roles(e.ns).Create(ctx, held, metav1.CreateOptions{})
		return err
	})
	more := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "more"}, Rules: []rbacv1.PolicyRule{policyRule([]string{"get"}, "", "secrets")}}
	_, err := grace.RbacV1().Roles(e.ns).Create(ctx, more, metav1.CreateOptions{})
	expectOutcome(g, "forbidden", "create a Role granting get on Secrets, which the user does not hold", err)
	_, err = e.admin.RbacV1().Roles(e.ns).Get(ctx, "more", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the refused Role must not exist, got %v", err)
}

func specBindEscalation(ctx context.Context, g gomega.Gomega, e *authEnv) {
	e.createRole(ctx, g, e.ns, "binder", policyRule([]string{"create", "get"}, rbacv1.GroupName, "rolebindings"))
	e.createRole(ctx, g, e.ns, "secrets-reader", policyRule([]string{"get", "list"}, "", "secrets"))
	name := e.user("heidi")
	e.bindRole(ctx, g, e.ns, "binder", "Role", "binder", userSubj(name))
	heidi := e.as(g, name)
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "self-promotion"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "secrets-reader"},
		Subjects:   []rbacv1.Subject{userSubj(name)},
	}
	// Wait until the user's own grant is enforced (it may read its bindings), then try.
	eventuallyAllowed(ctx, g, "get RoleBindings", func() error {
		_, err := heidi.RbacV1().RoleBindings(e.ns).Get(ctx, "binder", metav1.GetOptions{})
		return err
	})
	_, err := heidi.RbacV1().RoleBindings(e.ns).Create(ctx, binding, metav1.CreateOptions{})
	expectOutcome(g, "forbidden", "bind a Role granting Secrets the user cannot read", err)
	admins := binding.DeepCopy()
	admins.Name = "cluster-admin"
	admins.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"}
	_, err = heidi.RbacV1().RoleBindings(e.ns).Create(ctx, admins, metav1.CreateOptions{})
	expectOutcome(g, "forbidden", "bind cluster-admin in the namespace", err)
}

// selfReview asks, as c, whether c may do verb on resource in ns.
func selfReview(ctx context.Context, c kubernetes.Interface, verb, resource, ns string) (bool, error) {
	r, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: verb, Resource: resource,
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return r.Status.Allowed, nil
}

func specSelfSubjectAccessReview(ctx context.Context, g gomega.Gomega, e *authEnv) {
	e.createRole(ctx, g, e.ns, "cm-lister", policyRule([]string{"list"}, "", "configmaps"))
	name := e.user("ivan")
	e.bindRole(ctx, g, e.ns, "cm-lister", "Role", "cm-lister", userSubj(name))
	ivan := e.as(g, name)
	g.Eventually(func() (bool, error) { return selfReview(ctx, ivan, "list", "configmaps", e.ns) }).WithContext(ctx).
		WithTimeout(rbacGrantWait).WithPolling(200*time.Millisecond).Should(gomega.BeTrue(), "may list configmaps in the namespace")
	for _, c := range []struct{ verb, resource, ns string }{
		{"create", "configmaps", e.ns}, {"list", "secrets", e.ns}, {"list", "configmaps", "default"},
	} {
		allowed, err := selfReview(ctx, ivan, c.verb, c.resource, c.ns)
		ok(g, err, "SelfSubjectAccessReview")
		g.Expect(allowed).To(gomega.BeFalse(), "may %s %s in %s", c.verb, c.resource, c.ns)
	}
}

func specSubjectAccessReview(ctx context.Context, g gomega.Gomega, e *authEnv) {
	group := e.user("auditors")
	e.createRole(ctx, g, e.ns, "cm-lister", policyRule([]string{"list"}, "", "configmaps"))
	e.bindRole(ctx, g, e.ns, "cm-lister", "Role", "cm-lister", groupSubj(group))
	review := func(userName string, groups []string, verb, resource string) (bool, error) {
		r, err := e.admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: userName, Groups: groups,
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: e.ns, Verb: verb, Resource: resource}},
		}, metav1.CreateOptions{})
		if err != nil {
			return false, err
		}
		return r.Status.Allowed, nil
	}
	g.Eventually(func() (bool, error) { return review(e.user("judy"), []string{group}, "list", "configmaps") }).WithContext(ctx).
		WithTimeout(rbacGrantWait).WithPolling(200*time.Millisecond).Should(gomega.BeTrue(), "a member of the bound group may list configmaps")
	allowed, err := review(e.user("judy"), []string{group}, "delete", "configmaps")
	ok(g, err, "SubjectAccessReview")
	g.Expect(allowed).To(gomega.BeFalse(), "a member of the bound group may delete configmaps")
	allowed, err = review(e.user("judy"), []string{e.user("others")}, "list", "configmaps")
	ok(g, err, "SubjectAccessReview")
	g.Expect(allowed).To(gomega.BeFalse(), "a user outside the bound group may list configmaps")
}

func specForbiddenStatus(ctx context.Context, g gomega.Gomega, e *authEnv) {
	name := e.user("mallory")
	_, err := e.as(g, name).CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{})
	g.Expect(err).To(gomega.HaveOccurred(), "listing Secrets as an unbound user")
	var status apierrors.APIStatus
	g.Expect(errors.As(err, &status)).To(gomega.BeTrue(), "the error must be a Status, got %v", err)
	st := status.Status()
	g.Expect(st.Code).To(gomega.Equal(int32(http.StatusForbidden)), "code")
	g.Expect(st.Reason).To(gomega.Equal(metav1.StatusReasonForbidden), "reason")
	g.Expect(st.Message).To(gomega.HavePrefix(fmt.Sprintf(`secrets is forbidden: User %q cannot list resource "secrets" in API group "" in the namespace %q`, name, e.ns)), "message")
}

func specRBACValidation(ctx context.Context, g gomega.Gomega, e *authEnv) {
	expectInvalid := func(err error, field, what string) {
		g.ExpectWithOffset(1, apierrors.IsInvalid(err)).To(gomega.BeTrue(), "%s: want 422, got %v", what, err)
		var status apierrors.APIStatus
		g.ExpectWithOffset(1, errors.As(err, &status)).To(gomega.BeTrue())
		var fields []string
		if d := status.Status().Details; d != nil {
			for _, c := range d.Causes {
				fields = append(fields, c.Field)
			}
		}
		g.ExpectWithOffset(1, fields).To(gomega.ContainElement(field), "%s: the causes must name %s", what, field)
	}
	_, err := e.admin.RbacV1().Roles(e.ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "no-verbs"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}}}}, metav1.CreateOptions{})
	expectInvalid(err, "rules[0].verbs", "a Role rule without verbs")
	_, err = e.admin.RbacV1().Roles(e.ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "urls"},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}}}, metav1.CreateOptions{})
	expectInvalid(err, "rules[0].nonResourceURLs", "a Role rule with nonResourceURLs")
	_, err = e.admin.RbacV1().RoleBindings(e.ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "bad-ref"},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Pod", Name: "x"}}, metav1.CreateOptions{})
	expectInvalid(err, "roleRef.kind", "a RoleBinding whose roleRef kind is Pod")
}

func specRoleRefImmutable(ctx context.Context, g gomega.Gomega, e *authEnv) {
	e.createRole(ctx, g, e.ns, "first", policyRule([]string{"get"}, "", "configmaps"))
	e.createRole(ctx, g, e.ns, "second", policyRule([]string{"get"}, "", "configmaps"))
	e.bindRole(ctx, g, e.ns, "binding", "Role", "first", userSubj(e.user("kim")))
	b, err := e.admin.RbacV1().RoleBindings(e.ns).Get(ctx, "binding", metav1.GetOptions{})
	ok(g, err, "getting the RoleBinding")
	b.RoleRef.Name = "second"
	_, err = e.admin.RbacV1().RoleBindings(e.ns).Update(ctx, b, metav1.UpdateOptions{})
	g.Expect(apierrors.IsInvalid(err)).To(gomega.BeTrue(), "changing roleRef: want 422, got %v", err)
	var status apierrors.APIStatus
	g.Expect(errors.As(err, &status)).To(gomega.BeTrue())
	g.Expect(status.Status().Details).NotTo(gomega.BeNil())
	var fields []string
	for _, c := range status.Status().Details.Causes {
		fields = append(fields, c.Field)
	}
	g.Expect(fields).To(gomega.ContainElement("roleRef"), "the causes must name roleRef")
	after, err := e.admin.RbacV1().RoleBindings(e.ns).Get(ctx, "binding", metav1.GetOptions{})
	ok(g, err, "getting the RoleBinding again")
	g.Expect(after.RoleRef.Name).To(gomega.Equal("first"), "the stored roleRef")
}

func specBootstrapRoles(ctx context.Context, g gomega.Gomega, e *authEnv) {
	for _, name := range []string{"cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery", "system:public-info-viewer"} {
		_, err := e.admin.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		ok(g, err, "getting ClusterRole "+name)
	}
	crbs, err := e.admin.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	ok(g, err, "listing ClusterRoleBindings")
	masters := false
	for _, b := range crbs.Items {
		if b.RoleRef.Kind != "ClusterRole" || b.RoleRef.Name != "cluster-admin" {
			continue
		}
		for _, s := range b.Subjects {
			masters = masters || (s.Kind == rbacv1.GroupKind && s.Name == "system:masters")
		}
	}
	g.Expect(masters).To(gomega.BeTrue(), "a ClusterRoleBinding must bind cluster-admin to group system:masters")
	name := e.user("viewer")
	e.bindRole(ctx, g, e.ns, "viewer", "ClusterRole", "view", userSubj(name))
	viewer := e.as(g, name)
	eventuallyAllowed(ctx, g, "list pods with view", func() error {
		_, err := viewer.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
		return err
	})
	_, err = viewer.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{})
	expectOutcome(g, "forbidden", "list Secrets with view", err)
}
