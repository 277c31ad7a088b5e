package conformance

import (
	"context"
	"encoding/pem"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

// Sources and names of the namespace-provisioning controllers' behaviours.
const (
	srcServiceAccountCtrl = "Kubernetes: Managing Service Accounts, ServiceAccount controller (kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin)"
	srcRootCAPublisher    = "Kubernetes: kube-root-ca.crt published by the root CA publisher (kubernetes.io/docs/tasks/run-application/access-api-from-pod, pkg/controller/certificates/rootcacertpublisher)"
	defaultServiceAccount = "default"
	rootCAConfigMap       = "kube-root-ca.crt"
	rootCAKey             = "ca.crt"
	descriptionAnnotation = "kubernetes.io/description"
)

// namespaceControllerSpecs are the specs of the controllers that provision every namespace:
// the ServiceAccount controller and the root CA publisher.
func namespaceControllerSpecs() []spec[*ctrlEnv] {
	return []spec[*ctrlEnv]{
		{ctrl("controllers.serviceaccount.default-in-every-namespace", "every Active namespace MUST get a ServiceAccount named default: the system namespaces, the spec's namespace and a namespace created while the manager runs", srcServiceAccountCtrl), specCtrlDefaultServiceAccount},
		{ctrl("controllers.serviceaccount.recreated", "a deleted default ServiceAccount MUST be created again (a new object with a new uid)", srcServiceAccountCtrl), specCtrlServiceAccountRecreated},
		{ctrl("controllers.rootca.published", "every Active namespace MUST get a ConfigMap kube-root-ca.crt annotated kubernetes.io/description whose only data key ca.crt holds the same CA bundle (PEM certificates, when not empty) in every namespace", srcRootCAPublisher), specCtrlRootCAPublished},
		{ctrl("controllers.rootca.restored", "a kube-root-ca.crt ConfigMap whose data is edited MUST get back exactly its ca.crt, and a deleted one MUST be created again", srcRootCAPublisher), specCtrlRootCARestored},
	}
}

// extraNamespace creates a namespace for the spec beside its own, deleted when the spec ends.
func (e *ctrlEnv) extraNamespace(ctx context.Context, g gomega.Gomega, suffix string) string {
	ns := e.ns + "-" + suffix
	_, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating namespace %s", ns)
	e.c.Cleanup(func() { _ = e.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	return ns
}

// waitServiceAccount waits for the default ServiceAccount of ns and returns it.
func (e *ctrlEnv) waitServiceAccount(ctx context.Context, g gomega.Gomega, ns string, not types.UID) *corev1.ServiceAccount {
	var sa *corev1.ServiceAccount
	e.eventually(ctx, g, "ServiceAccount default in namespace "+ns, func(g gomega.Gomega) {
		var err error
		sa, err = e.client.CoreV1().ServiceAccounts(ns).Get(ctx, defaultServiceAccount, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(sa.UID).NotTo(gomega.Equal(not), "the deleted ServiceAccount is still there")
	})
	return sa
}

func specCtrlDefaultServiceAccount(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	fresh := e.extraNamespace(ctx, g, "sa")
	for _, ns := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, corev1.NamespaceNodeLease, e.ns, fresh} {
		e.waitServiceAccount(ctx, g, ns, "")
	}
}

func specCtrlServiceAccountRecreated(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	first := e.waitServiceAccount(ctx, g, e.ns, "")
	for round := range 2 {
		err := e.client.CoreV1().ServiceAccounts(e.ns).Delete(ctx, defaultServiceAccount, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &first.UID}})
		g.Expect(err).NotTo(gomega.HaveOccurred(), "deleting the default ServiceAccount (round %d)", round+1)
		first = e.waitServiceAccount(ctx, g, e.ns, first.UID)
	}
}

// waitRootCA waits for kube-root-ca.crt in ns to hold only ca.crt and the description, and
// returns it.
func (e *ctrlEnv) waitRootCA(ctx context.Context, g gomega.Gomega, ns string, not types.UID) *corev1.ConfigMap {
	var cm *corev1.ConfigMap
	e.eventually(ctx, g, "ConfigMap kube-root-ca.crt in namespace "+ns+" holding only ca.crt", func(g gomega.Gomega) {
		var err error
		cm, err = e.client.CoreV1().ConfigMaps(ns).Get(ctx, rootCAConfigMap, metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(cm.UID).NotTo(gomega.Equal(not), "the deleted ConfigMap is still there")
		g.Expect(cm.Data).To(gomega.HaveKey(rootCAKey))
		g.Expect(cm.Data).To(gomega.HaveLen(1), "data keys other than ca.crt")
		g.Expect(cm.BinaryData).To(gomega.BeEmpty())
		g.Expect(cm.Annotations[descriptionAnnotation]).NotTo(gomega.BeEmpty(), "annotation %s", descriptionAnnotation)
	})
	return cm
}

func specCtrlRootCAPublished(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	mine := e.waitRootCA(ctx, g, e.ns, "")
	bundle := mine.Data[rootCAKey]
	if bundle != "" {
		rest, blocks := []byte(bundle), 0
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			g.Expect(b.Type).To(gomega.Equal("CERTIFICATE"), "ca.crt must hold PEM certificates")
			blocks++
		}
		g.Expect(blocks).To(gomega.BeNumerically(">", 0), "a non-empty ca.crt must hold PEM certificates")
	}
	fresh := e.extraNamespace(ctx, g, "ca")
	for _, ns := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem, fresh} {
		cm := e.waitRootCA(ctx, g, ns, "")
		g.Expect(cm.Data[rootCAKey]).To(gomega.Equal(bundle), "ca.crt of namespace %s differs from that of %s", ns, e.ns)
	}
}

func specCtrlRootCARestored(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	orig := e.waitRootCA(ctx, g, e.ns, "")
	bundle := orig.Data[rootCAKey]
	err := retry.RetryOnConflict(conflictBackoff(), func() error {
		cm, err := cms.Get(ctx, rootCAConfigMap, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cm.Data = map[string]string{rootCAKey: "tampered", "extra": "x"}
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "editing kube-root-ca.crt")
	restored := e.waitRootCA(ctx, g, e.ns, "")
	g.Expect(restored.Data[rootCAKey]).To(gomega.Equal(bundle), "the restored ca.crt")
	err = cms.Delete(ctx, rootCAConfigMap, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &restored.UID}})
	if !apierrors.IsNotFound(err) {
		g.Expect(err).NotTo(gomega.HaveOccurred(), "deleting kube-root-ca.crt")
	}
	again := e.waitRootCA(ctx, g, e.ns, restored.UID)
	g.Expect(again.Data[rootCAKey]).To(gomega.Equal(bundle), "the recreated kube-root-ca.crt holds another bundle")
}
