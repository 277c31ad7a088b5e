package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
)

// srcControllerEvents: the Events kube-controller-manager's workload controllers write.
const srcControllerEvents = "Kubernetes: kubectl describe deployment/replicaset shows the controllers' Events (pkg/controller/deployment/sync.go ScalingReplicaSet; pkg/controller/replicaset SuccessfulCreate, SuccessfulDelete)"

// srcNodeControllerEvents: the Events kube-controller-manager's node lifecycle controller writes.
const srcNodeControllerEvents = "Kubernetes: kubectl describe node shows the node controller's Events (pkg/controller/nodelifecycle/node_lifecycle_controller.go: RegisteredNode through RecordNodeEvent, NodeNotReady through RecordNodeStatusChange when a Ready node turns not Ready)"

// controllerEventSpecs are the specs of the Events the workload controllers write.
func controllerEventSpecs() []spec[*ctrlEnv] {
	return []spec[*ctrlEnv]{
		{ctrl("controllers.events.replicaset", "a ReplicaSet MUST get a Normal Event SuccessfulCreate \"Created pod: NAME\" for every pod it creates and SuccessfulDelete \"Deleted pod: NAME\" for every pod it deletes when scaled down", srcControllerEvents), specCtrlReplicaSetEvents},
		{ctrl("controllers.events.node-lifecycle", "the node controller MUST record on each Node (involvedObject its kind, name and UID; source component node-controller) a Normal Event RegisteredNode \"Node NAME event: Registered Node NAME in Controller\" once it sees it, and a Normal Event NodeNotReady \"Node NAME status is now: NodeNotReady\" when a Ready node's heartbeats stop and its Ready condition turns Unknown", srcNodeControllerEvents, VirtualTime), specCtrlNodeEvents},
		{ctrl("controllers.events.deployment", "a Deployment MUST get a Normal Event ScalingReplicaSet \"Scaled up replica set NAME from 0 to N\" when it scales its new ReplicaSet up", srcControllerEvents), specCtrlDeploymentEvents},
	}
}

// objectEvents returns the summaries ("Type Reason: message") of the core/v1 Events of the
// spec's namespace about the object kind/name of uid.
func (e *ctrlEnv) objectEvents(ctx context.Context, g gomega.Gomega, kind, name string, uid types.UID) []string {
	list, err := e.client.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "listing Events")
	var out []string
	for _, ev := range list.Items {
		o := ev.InvolvedObject
		if o.Kind == kind && o.Name == name && (o.UID == "" || o.UID == uid) {
			out = append(out, fmt.Sprintf("%s %s: %s", ev.Type, ev.Reason, ev.Message))
		}
	}
	return out
}

func specCtrlReplicaSetEvents(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	rs := e.createReplicaSet(ctx, g, ctrlReplicaSet("web", 2))
	pods := e.waitReadyPods(ctx, g, "web", 2)
	e.eventually(ctx, g, "a SuccessfulCreate Event per pod", func(g gomega.Gomega) {
		evs := e.objectEvents(ctx, g, "ReplicaSet", "web", rs.UID)
		for _, p := range pods {
			g.Expect(evs).To(gomega.ContainElement("Normal SuccessfulCreate: Created pod: "+p.Name), "the Events of ReplicaSet web")
		}
	})
	e.eventually(ctx, g, "scaled down to 1", func(g gomega.Gomega) {
		cur, err := e.client.AppsV1().ReplicaSets(e.ns).Get(ctx, "web", metav1.GetOptions{})
		g.Expect(err).NotTo(gomega.HaveOccurred())
		if cur.Spec.Replicas == nil || *cur.Spec.Replicas != 1 {
			one := int32(1)
			cur.Spec.Replicas = &one
			_, err = e.client.AppsV1().ReplicaSets(e.ns).Update(ctx, cur, metav1.UpdateOptions{})
			g.Expect(err).NotTo(gomega.HaveOccurred())
		}
		g.Expect(podNames(e.activePods(ctx, g, "web"))).To(gomega.HaveLen(1))
	})
	left := e.activePods(ctx, g, "web")
	var gone string
	for _, p := range pods {
		if p.UID != left[0].UID {
			gone = p.Name
		}
	}
	e.eventually(ctx, g, "a SuccessfulDelete Event", func(g gomega.Gomega) {
		g.Expect(e.objectEvents(ctx, g, "ReplicaSet", "web", rs.UID)).To(gomega.ContainElement("Normal SuccessfulDelete: Deleted pod: " + gone))
	})
}

func specCtrlDeploymentEvents(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	d := e.createDeployment(ctx, g, ctrlDeployment("web", 2))
	d = e.waitRolledOut(ctx, g, "web")
	rss := e.replicaSetsOf(ctx, g, d)
	g.Expect(rss).To(gomega.HaveLen(1))
	e.eventually(ctx, g, "a ScalingReplicaSet Event", func(g gomega.Gomega) {
		g.Expect(e.objectEvents(ctx, g, "Deployment", "web", d.UID)).To(gomega.ContainElement(
			fmt.Sprintf("Normal ScalingReplicaSet: Scaled up replica set %s from 0 to 2", rss[0].Name)))
	})
}

// nodeControllerEvents returns the summaries ("Type Reason: message") of the Events the node
// controller recorded about the Node name of uid, as kubectl describe node finds them.
func (e *ctrlEnv) nodeControllerEvents(ctx context.Context, g gomega.Gomega, name string, uid types.UID) []string {
	sel := fields.Set{"involvedObject.kind": "Node", "involvedObject.name": name}.AsSelector().String()
	list, err := e.client.CoreV1().Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: sel})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "listing the Events of node %s", name)
	var out []string
	for _, ev := range list.Items {
		if ev.InvolvedObject.UID == uid && ev.Source.Component == "node-controller" {
			out = append(out, fmt.Sprintf("%s %s: %s", ev.Type, ev.Reason, ev.Message))
		}
	}
	return out
}

func specCtrlNodeEvents(ctx context.Context, g gomega.Gomega, e *ctrlEnv) {
	grace, _ := e.graceAndEviction()
	uids := e.nodeUIDs(ctx, g)
	e.eventually(ctx, g, "a RegisteredNode Event on every node", func(g gomega.Gomega) {
		for name, uid := range uids {
			g.Expect(e.nodeControllerEvents(ctx, g, name, uid)).To(gomega.ContainElement(
				fmt.Sprintf("Normal RegisteredNode: Node %s event: Registered Node %s in Controller", name, name)), "the node controller's Events of node %s", name)
		}
	})
	dead := e.nodes[0]
	g.Expect(e.agents.Kill(ctx, dead)).To(gomega.Succeed(), "stopping node %s", dead)
	e.advance(ctx, g, grace+15*time.Second)
	e.waitUnreachable(ctx, g, dead)
	e.eventually(ctx, g, "a NodeNotReady Event on node "+dead, func(g gomega.Gomega) {
		g.Expect(e.nodeControllerEvents(ctx, g, dead, uids[dead])).To(gomega.ContainElement(
			fmt.Sprintf("Normal NodeNotReady: Node %s status is now: NodeNotReady", dead)), "the node controller's Events of node %s", dead)
	})
}
