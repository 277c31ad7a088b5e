package conformance

import (
	"context"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Sources of the v1 Endpoints behaviours.
const (
	srcEndpoints          = "Kubernetes: Endpoints (kubernetes.io/docs/concepts/services-networking/service/#endpoints; pkg/controller/endpoint)"
	srcPublishNotReady    = "Kubernetes: Service spec.publishNotReadyAddresses (kubernetes.io/docs/reference/kubernetes-api/service-resources/service-v1)"
	srcEndpointsMirroring = "Kubernetes: EndpointSlice mirroring (kubernetes.io/docs/concepts/services-networking/endpoint-slices/#endpointslice-mirroring)"
	mirroringManagedBy    = "endpointslicemirroring-controller.k8s.io"
)

// endpointsControllerSpecs are the specs of the Endpoints and EndpointSlice mirroring
// controllers.
func endpointsControllerSpecs() []spec[*ctrlEnv] {
	return []spec[*ctrlEnv]{
		{ctrl("controllers.endpoints.subsets", "the v1 Endpoints of a Service with a selector MUST list its ready pods under addresses and its not-ready pods under notReadyAddresses, each with the pod's node and a target reference to the pod, with the Service's port resolved against the pod and the Service's labels", srcEndpoints), specCtrlEndpointsSubsets},
		{ctrl("controllers.endpoints.publish-not-ready", "the v1 Endpoints of a Service with publishNotReadyAddresses MUST list its not-ready pods under addresses", srcPublishNotReady), specCtrlEndpointsPublishNotReady},
		{ctrl("controllers.endpoints.lifecycle", "a Service with a selector that matches no pods MUST get Endpoints of its name, deleted with the Service, while the Endpoints written for a Service without a selector MUST be left as written", srcEndpoints), specCtrlEndpointsLifecycle},
		{ctrl("controllers.endpointslicemirroring.mirrors", "the Endpoints of a Service without a selector MUST be mirrored into EndpointSlices labelled kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by=endpointslicemirroring-controller.k8s.io that follow their addresses and ports and are deleted with them", srcEndpointsMirroring), specCtrlEndpointsMirroring},
	}
}

// nodeWithoutKubelet creates (once per spec) a Node that no agent runs: no heartbeats, no
// status, unschedulable, so nothing else lands on it; pods the spec binds to it keep the status
// the spec writes. Its name is returned.
func (e *ctrlEnv) nodeWithoutKubelet(ctx context.Context, g gomega.Gomega) string {
	return e.bareNode(ctx, g, e.ns+"-no-kubelet")
}

// bareNode creates the Node name as nodeWithoutKubelet does (nothing if it exists).
func (e *ctrlEnv) bareNode(ctx context.Context, g gomega.Gomega, name string) string {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"clusterkit.dev/conformance-node": "true"}}}
	n.Spec.Unschedulable = true
	_, err := e.client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return name
	}
	g.ExpectWithOffset(2, err).NotTo(gomega.HaveOccurred(), "creating node %s", name)
	e.c.Cleanup(func() { _ = e.client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	return name
}

// notReadyServicePod creates a pod of the Service's selector on a node without a kubelet and
// reports it running but not ready, with ip.
func (e *ctrlEnv) notReadyServicePod(ctx context.Context, g gomega.Gomega, name, ip string, lbls map[string]string) *corev1.Pod {
	t := ctrlTemplate("lame", ctrlImage1)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}, Spec: t.Spec}
	p.Spec.NodeName = "no-kubelet-node"
	p, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}}
	p, err = e.client.CoreV1().Pods(e.ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred())
	return p
}

// endpointAddresses maps the addresses of ep to whether they are listed as ready, and checks
// that every subset holds the single port want.
func endpointAddresses(g gomega.Gomega, ep *corev1.Endpoints, want corev1.EndpointPort) map[string]corev1.EndpointAddress {
	ready := map[string]corev1.EndpointAddress{}
	for _, s := range ep.Subsets {
		g.Expect(s.Ports).To(gomega.ConsistOf(gomega.And(gomega.HaveField("Name", want.Name), gomega.HaveField("Port", want.Port),
			gomega.HaveField("Protocol", want.Protocol))), "the subset's ports")
		for _, a := range s.Addresses {
			ready["ready:"+a.IP] = a
		}
		for _, a := range s.NotReadyAddresses {
			ready["notready:"+a.IP] = a
		}
	}
	return ready
}

func specCtrlEndpointsSubsets(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"tier": "front"}},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"svc": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")}}},
	}
	_, err := e.client.CoreV1().Services(e.ns).Create(ctx, svc, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	rs := ctrlReplicaSet("web", 2)
	rs.Spec.Template.Labels["svc"] = "web"
	e.createReplicaSet(ctx, g, rs)
	lame := e.notReadyServicePod(ctx, g, "not-ready", "10.99.0.1", map[string]string{"app": "lame", "svc": "web"})

	e.eventually(ctx, g, "the Endpoints list the ready and the not-ready pods", func(g gomega.Gomega) {
		pods := e.activePods(ctx, g, "web")
		g.Expect(podNames(pods)).To(gomega.HaveLen(2))
		ep, err := e.client.CoreV1().Endpoints(e.ns).Get(ctx, "web", metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(ep.Labels).To(gomega.HaveKeyWithValue("tier", "front"), "the Service's labels")
		got := endpointAddresses(g, ep, corev1.EndpointPort{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP})
		want := map[string]*corev1.Pod{"notready:" + lame.Status.PodIP: lame}
		for i := range pods {
			p := &pods[i]
			g.Expect(p.Status.PodIP).NotTo(gomega.BeEmpty())
			g.Expect(readyCond(p)).To(gomega.BeTrue())
			want["ready:"+p.Status.PodIP] = p
		}
		g.Expect(got).To(gomega.HaveLen(len(want)), "addresses %v", got)
		for k, p := range want {
			a, ok := got[k]
			g.Expect(ok).To(gomega.BeTrue(), "%s (pod %s) missing from %v", k, p.Name, got)
			g.Expect(a.NodeName).To(gomega.HaveValue(gomega.Equal(p.Spec.NodeName)), "nodeName of %s", p.Name)
			g.Expect(a.TargetRef).NotTo(gomega.BeNil(), "targetRef of %s", p.Name)
			g.Expect(a.TargetRef.Kind).To(gomega.Equal("Pod"))
			g.Expect(a.TargetRef.Name).To(gomega.Equal(p.Name))
			g.Expect(a.TargetRef.UID).To(gomega.Equal(p.UID))
		}
	})
}

func specCtrlEndpointsPublishNotReady(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "peers"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"svc": "peers"}, PublishNotReadyAddresses: true, ClusterIP: corev1.ClusterIPNone,
			Ports: []corev1.ServicePort{{Name: "peer", Port: 7000, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(7000)}}},
	}
	_, err := e.client.CoreV1().Services(e.ns).Create(ctx, svc, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	lame := e.notReadyServicePod(ctx, g, "starting", "10.99.0.2", map[string]string{"app": "lame", "svc": "peers"})
	e.eventually(ctx, g, "the not-ready pod is listed under addresses", func(g gomega.Gomega) {
		ep, err := e.client.CoreV1().Endpoints(e.ns).Get(ctx, "peers", metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		got := endpointAddresses(g, ep, corev1.EndpointPort{Name: "peer", Port: 7000, Protocol: corev1.ProtocolTCP})
		g.Expect(got).To(gomega.HaveKey("ready:"+lame.Status.PodIP), "addresses %v", got)
		g.Expect(got).To(gomega.HaveLen(1), "addresses %v", got)
	})
}

func specCtrlEndpointsLifecycle(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "nobody"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"svc": "nobody-here"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
	_, err := e.client.CoreV1().Services(e.ns).Create(ctx, svc, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	custom := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "external"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
	_, err = e.client.CoreV1().Services(e.ns).Create(ctx, custom, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	written := []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.98.0.7"}},
		Ports: []corev1.EndpointPort{{Name: "http", Port: 8443, Protocol: corev1.ProtocolTCP}}}}
	_, err = e.client.CoreV1().Endpoints(e.ns).Create(ctx, &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "external"}, Subsets: written}, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())

	e.eventually(ctx, g, "Endpoints of the Service that matches no pods", func(g gomega.Gomega) {
		ep, err := e.client.CoreV1().Endpoints(e.ns).Get(ctx, "nobody", metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(ep.Subsets).To(gomega.BeEmpty())
	})
	g.Expect(e.client.CoreV1().Services(e.ns).Delete(ctx, "nobody", metav1.DeleteOptions{})).To(gomega.Succeed())
	e.eventually(ctx, g, "the Endpoints deleted with their Service", func(g gomega.Gomega) {
		_, err := e.client.CoreV1().Endpoints(e.ns).Get(ctx, "nobody", metav1.GetOptions{})
		g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "get: %v", err)
	})
	consistently(ctx, g, "the custom Endpoints as written", func(g gomega.Gomega) {
		ep, err := e.client.CoreV1().Endpoints(e.ns).Get(ctx, "external", metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(ep.Subsets).To(gomega.HaveLen(1))
		g.Expect(ep.Subsets[0].Addresses).To(gomega.ConsistOf(gomega.HaveField("IP", "10.98.0.7")))
		g.Expect(ep.Subsets[0].Ports).To(gomega.ConsistOf(gomega.HaveField("Port", int32(8443))))
	})
}

func specCtrlEndpointsMirroring(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "external"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
	_, err := e.client.CoreV1().Services(e.ns).Create(ctx, svc, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "external"}, Subsets: []corev1.EndpointSubset{{
		Addresses:         []corev1.EndpointAddress{{IP: "10.98.1.1"}},
		NotReadyAddresses: []corev1.EndpointAddress{{IP: "10.98.1.2"}},
		Ports:             []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}},
	}}}
	_, err = e.client.CoreV1().Endpoints(e.ns).Create(ctx, ep, metav1.CreateOptions{})
	g.Expect(err).NotTo(gomega.HaveOccurred())

	mirrored := func(g gomega.Gomega, port int32, want map[string]bool) {
		list, err := e.client.DiscoveryV1().EndpointSlices(e.ns).List(ctx, metav1.ListOptions{
			LabelSelector: discoveryv1.LabelServiceName + "=external," + discoveryv1.LabelManagedBy + "=" + mirroringManagedBy})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		got := map[string]bool{}
		for _, s := range list.Items {
			g.Expect(s.AddressType).To(gomega.Equal(discoveryv1.AddressTypeIPv4))
			g.Expect(s.Ports).To(gomega.ConsistOf(gomega.HaveField("Port", gomega.HaveValue(gomega.Equal(port)))), "the slice's ports")
			for _, x := range s.Endpoints {
				for _, a := range x.Addresses {
					got[a] = ptr.Deref(x.Conditions.Ready, true)
				}
			}
		}
		g.Expect(got).To(gomega.Equal(want), "mirrored addresses and readiness")
	}
	e.eventually(ctx, g, "the Endpoints mirrored", func(g gomega.Gomega) {
		mirrored(g, 8080, map[string]bool{"10.98.1.1": true, "10.98.1.2": false})
	})
	e.eventually(ctx, g, "an update of the Endpoints mirrored", func(g gomega.Gomega) {
		cur, err := e.client.CoreV1().Endpoints(e.ns).Get(ctx, "external", metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		if len(cur.Subsets) != 1 || len(cur.Subsets[0].Addresses) != 1 || cur.Subsets[0].Addresses[0].IP != "10.98.2.1" {
			cur.Subsets = []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.98.2.1"}},
				Ports: []corev1.EndpointPort{{Name: "http", Port: 9090, Protocol: corev1.ProtocolTCP}}}}
			_, err = e.client.CoreV1().Endpoints(e.ns).Update(ctx, cur, metav1.UpdateOptions{})
			g.Expect(err).NotTo(gomega.HaveOccurred())
		}
		mirrored(g, 9090, map[string]bool{"10.98.2.1": true})
	})
	g.Expect(e.client.CoreV1().Endpoints(e.ns).Delete(ctx, "external", metav1.DeleteOptions{})).To(gomega.Succeed())
	e.eventually(ctx, g, "the mirrored slices deleted with the Endpoints", func(g gomega.Gomega) {
		mirrored(g, 0, map[string]bool{})
	})
}
