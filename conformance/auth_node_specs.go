package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Sources of the node authorization behaviours.
const (
	srcNodeAuthz       = "Kubernetes: Using Node Authorization (kubernetes.io/docs/reference/access-authn-authz/node)"
	srcNodeRestriction = "Kubernetes: Admission Controllers, NodeRestriction (kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#noderestriction)"
)

// nodeSpecs are the auth behaviours that confine a kubelet to its own node: the Node
// authorizer and NodeRestriction admission (kubeadm enables both). A kubelet is impersonated
// as system:node:<name> in group system:nodes; its Node is one the spec creates (unschedulable,
// never Ready), and its pods are bound to it by spec.nodeName, so nothing runs them.
func nodeSpecs() []spec[*authEnv] {
	return []spec[*authEnv]{
		{auth("auth.node.own-node-only", "a kubelet (system:node:<name> in system:nodes) MUST be allowed to update its own Node and MUST be refused (403) an update or delete of another node's Node", srcNodeRestriction), specNodeOwnNodeOnly},
		{auth("auth.node.taints-immutable", "a kubelet MUST be refused (403) an update of its own Node that changes spec.taints", srcNodeRestriction), specNodeTaintsImmutable},
		{auth("auth.node.secret-through-pods", "a kubelet MUST be refused (403) a Secret no pod bound to its node uses, MUST be allowed to get it once a pod bound to its node mounts it, and MUST be refused a list of Secrets", srcNodeAuthz), specNodeSecretThroughPods},
		{auth("auth.node.mirror-pods-only", "a kubelet MUST be refused (403) the creation of a pod that is not a mirror pod (no kubernetes.io/config.mirror annotation), even one bound to its own node", srcNodeRestriction), specNodeMirrorPodsOnly},
		{auth("auth.node.foreign-pods", "a kubelet MUST be refused (403) an update of the status of, and the deletion of, a pod bound to another node, and MUST be allowed both for a pod bound to its own node", srcNodeRestriction), specNodeForeignPods},
		{auth("auth.node.token-bound-to-own-pod", "a kubelet's TokenRequest MUST be refused (403) unless it is bound to a pod on its own node: unbound or bound to another node's pod is refused, bound to its own pod is allowed", srcNodeRestriction), specNodeTokenBoundToOwnPod},
	}
}

// nodeGroup is the group of every kubelet's credential.
const nodeGroup = "system:nodes"

// kubelet returns a client acting as the kubelet of node.
func (e *authEnv) kubelet(g gomega.Gomega, node string) kubernetes.Interface {
	return e.as(g, "system:node:"+node, nodeGroup)
}

// fakeNode creates a Node of the spec's own that nothing schedules to (unschedulable, with a
// NoSchedule taint) and deletes it when the spec ends; it returns its name.
func (e *authEnv) fakeNode(ctx context.Context, g gomega.Gomega, suffix string) string {
	name := e.ns + "-" + suffix
	_, err := e.admin.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.NodeSpec{Unschedulable: true, Taints: []corev1.Taint{
			{Key: "conformance.clusterkit.io/fake", Value: "true", Effect: corev1.TaintEffectNoSchedule},
		}},
	}, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating Node %s", name)
	e.c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.admin.CoreV1().Nodes().Delete(cctx, name, metav1.DeleteOptions{})
	})
	return name
}

// boundPod creates a pod bound to node (spec.nodeName) running as a ServiceAccount of the
// spec's own without an automounted token, with volumes as given.
func (e *authEnv) boundPod(ctx context.Context, g gomega.Gomega, name, node string, volumes ...corev1.Volume) *corev1.Pod {
	sa := name + "-sa"
	_, err := e.admin.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating ServiceAccount %s", sa)
	pod, err := e.admin.CoreV1().Pods(e.ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			NodeName: node, ServiceAccountName: sa, AutomountServiceAccountToken: ptr.To(false),
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers:  []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10.2"}},
			Volumes:     volumes,
		},
	}, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating pod %s bound to %s", name, node)
	return pod
}

func specNodeOwnNodeOnly(ctx context.Context, g gomega.Gomega, e *authEnv) {
	mine, other := e.fakeNode(ctx, g, "a"), e.fakeNode(ctx, g, "b")
	kubelet := e.kubelet(g, mine)
	label := []byte(`{"metadata":{"labels":{"conformance.clusterkit.io/touched":"yes"}}}`)
	_, err := kubelet.CoreV1().Nodes().Patch(ctx, mine, types.MergePatchType, label, metav1.PatchOptions{})
	expectOutcome(g, "allowed", "the kubelet labelling its own Node", err)
	_, err = kubelet.CoreV1().Nodes().Patch(ctx, other, types.MergePatchType, label, metav1.PatchOptions{})
	expectOutcome(g, "forbidden", "the kubelet of "+mine+" labelling Node "+other, err)
	err = kubelet.CoreV1().Nodes().Delete(ctx, other, metav1.DeleteOptions{})
	expectOutcome(g, "forbidden", "the kubelet of "+mine+" deleting Node "+other, err)
	_, err = e.admin.CoreV1().Nodes().Get(ctx, other, metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "Node %s still exists", other)
}

func specNodeTaintsImmutable(ctx context.Context, g gomega.Gomega, e *authEnv) {
	mine := e.fakeNode(ctx, g, "a")
	kubelet := e.kubelet(g, mine)
	n, err := kubelet.CoreV1().Nodes().Get(ctx, mine, metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "the kubelet reading its own Node")
	n.Spec.Taints = nil
	_, err = kubelet.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
	expectOutcome(g, "forbidden", "the kubelet removing its own Node's taints", err)
	got, err := e.admin.CoreV1().Nodes().Get(ctx, mine, metav1.GetOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(got.Spec.Taints).To(gomega.HaveLen(1), "the Node's taints after the refused update")
}

func specNodeSecretThroughPods(ctx context.Context, g gomega.Gomega, e *authEnv) {
	mine, other := e.fakeNode(ctx, g, "a"), e.fakeNode(ctx, g, "b")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "node-visible"}, StringData: map[string]string{"k": "v"}}
	_, err := e.admin.CoreV1().Secrets(e.ns).Create(ctx, secret, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred(), "creating the Secret")
	kubelet := e.kubelet(g, mine)
	get := func() error {
		_, err := kubelet.CoreV1().Secrets(e.ns).Get(ctx, secret.Name, metav1.GetOptions{})
		return err
	}
	vol := corev1.Volume{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret.Name}}}
	// A pod on another node using it does not open it to this kubelet.
	e.boundPod(ctx, g, "elsewhere", other, vol)
	expectOutcome(g, "forbidden", "the kubelet of "+mine+" getting a Secret only a pod on "+other+" uses", get())
	e.boundPod(ctx, g, "here", mine, vol)
	eventuallyAllowed(ctx, g, "the kubelet getting a Secret a pod bound to its node mounts", get)
	_, err = kubelet.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{})
	expectOutcome(g, "forbidden", "the kubelet listing Secrets", err)
}

func specNodeMirrorPodsOnly(ctx context.Context, g gomega.Gomega, e *authEnv) {
	mine := e.fakeNode(ctx, g, "a")
	_, err := e.kubelet(g, mine).CoreV1().Pods(e.ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "not-a-mirror"},
		Spec: corev1.PodSpec{
			NodeName: mine, AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10.2"}},
		},
	}, metav1.CreateOptions{})
	expectOutcome(g, "forbidden", "the kubelet creating a pod that is not a mirror pod", err)
	_, err = e.admin.CoreV1().Pods(e.ns).Get(ctx, "not-a-mirror", metav1.GetOptions{})
	g.Expect(err).To(gomega.HaveOccurred(), "the refused pod must not exist")
}

func specNodeForeignPods(ctx context.Context, g gomega.Gomega, e *authEnv) {
	mine, other := e.fakeNode(ctx, g, "a"), e.fakeNode(ctx, g, "b")
	foreign := e.boundPod(ctx, g, "foreign", other)
	own := e.boundPod(ctx, g, "own", mine)
	kubelet := e.kubelet(g, mine)
	status := func(p *corev1.Pod) error {
		cur, err := e.admin.CoreV1().Pods(e.ns).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Status.Message = "written by the kubelet of " + mine
		_, err = kubelet.CoreV1().Pods(e.ns).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	}
	expectOutcome(g, "forbidden", fmt.Sprintf("the kubelet of %s updating the status of a pod on %s", mine, other), status(foreign))
	err := kubelet.CoreV1().Pods(e.ns).Delete(ctx, foreign.Name, metav1.DeleteOptions{})
	expectOutcome(g, "forbidden", fmt.Sprintf("the kubelet of %s deleting a pod on %s", mine, other), err)
	eventuallyAllowed(ctx, g, "the kubelet updating the status of a pod bound to its node", func() error { return status(own) })
	err = kubelet.CoreV1().Pods(e.ns).Delete(ctx, own.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	expectOutcome(g, "allowed", "the kubelet deleting a pod bound to its node", err)
}

func specNodeTokenBoundToOwnPod(ctx context.Context, g gomega.Gomega, e *authEnv) {
	mine, other := e.fakeNode(ctx, g, "a"), e.fakeNode(ctx, g, "b")
	foreign := e.boundPod(ctx, g, "foreign", other)
	own := e.boundPod(ctx, g, "own", mine)
	kubelet := e.kubelet(g, mine)
	request := func(sa string, bound *corev1.Pod) error {
		tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{}}
		if bound != nil {
			tr.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: bound.Name, UID: bound.UID}
		}
		_, err := kubelet.CoreV1().ServiceAccounts(e.ns).CreateToken(ctx, sa, tr, metav1.CreateOptions{})
		return err
	}
	ownSA, foreignSA := own.Spec.ServiceAccountName, foreign.Spec.ServiceAccountName
	eventuallyAllowed(ctx, g, "a token for its own pod's ServiceAccount bound to that pod", func() error { return request(ownSA, own) })
	expectOutcome(g, "forbidden", "an unbound token for its own pod's ServiceAccount", request(ownSA, nil))
	expectOutcome(g, "forbidden", "a token for another node's pod's ServiceAccount bound to that pod", request(foreignSA, foreign))
}
