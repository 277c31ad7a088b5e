package conformance

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/apimachinery/pkg/watch"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/utils/ptr"
)

// Sources of the list, watch, resourceVersion and delete behaviours (issue 17: the rules, not
// the known-bads).
const (
	srcRVSemantics     = "Kubernetes API concepts: resource versions, semantics for get and list (kubernetes.io/docs/reference/using-api/api-concepts#semantics-for-get-and-list); KEP-5504 comparable resource versions (stable 1.35, k8s.io/apimachinery/pkg/util/resourceversion)"
	srcTooLarge        = "Kubernetes API concepts: semantics for get and list (a resourceVersion newer than the server's: 504 Timeout, the server waits up to 3 s); k8s.io/apiserver pkg/storage/errors.go NewTooLargeResourceVersionError, checked by client-go's reflector (isTooLargeResourceVersionError)"
	srcListValidation  = "k8s.io/apimachinery pkg/apis/meta/internalversion/validation ValidateListOptions, answered as 422 Invalid ListOptions by k8s.io/apiserver pkg/endpoints/handlers/get.go"
	srcWatchFilter     = "Kubernetes API concepts: efficient detection of changes (watch); k8s.io/apiserver pkg/storage/cacher/cache_watcher.go convertToWatchEvent and pkg/storage/etcd3/watcher.go transform: an object that stops matching is DELETED with its previous state at the event's resourceVersion"
	srcWatchFrom       = "Kubernetes API concepts: semantics for watch (a watch from resourceVersion R starts exactly after R)"
	srcWatchBookmarks  = "Kubernetes API concepts: watch bookmarks; k8s.io/apiserver pkg/storage/cacher/cache_watcher.go nextBookmarkTime (a bookmark 2 s before the watch's deadline)"
	srcWatchList       = "Kubernetes API concepts: streaming lists (sendInitialEvents, the k8s.io/initial-events-end bookmark); feature WatchList, beta and on since 1.34"
	srcDeletePrecond   = "Kubernetes API: DeleteOptions.preconditions (k8s.io/apiserver pkg/registry/rest/delete.go BeforeDelete: a mismatch is 409 Conflict)"
	srcNoOpUpdate      = "k8s.io/apiserver pkg/storage/etcd3/store.go GuaranteedUpdate: an update whose encoding equals the stored one writes nothing"
	srcGracefulDelete  = "k8s.io/apiserver pkg/registry/rest/delete.go BeforeDelete: a later delete may only shorten the grace period, moving deletionTimestamp back by the difference"
	srcDeleteGen       = "k8s.io/apiserver pkg/registry/rest/delete.go BeforeDelete and pkg/registry/generic/registry/store.go markAsDeleting: setting deletionTimestamp bumps a set generation once"
	srcUpdateSystem    = "k8s.io/apiserver pkg/registry/rest/update.go BeforeUpdate (creationTimestamp and generation kept) and defaultUpdatedObjectInfo.Preconditions (the body's uid is a precondition: 409 Conflict)"
	srcCompactBoundary = "Kubernetes API concepts: 410 Gone responses; etcd compaction keeps the compacted revision (a list or watch at or after it works)"
)

func apiListWatchSpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.list.consistent-read", "a list without resourceVersion MUST be a consistent read: it holds every object as last written before it, and its resourceVersion MUST NOT be older than theirs", srcRVSemantics), specListConsistentRead},
		{api("api.list.exact", "a list with resourceVersion R and resourceVersionMatch=Exact MUST return the state at R: objects deleted after R are in it, objects created after R are not, later updates are not seen, and its resourceVersion is R", srcRVSemantics), specListExact},
		{api("api.list.not-older-than", "a list with resourceVersion R and resourceVersionMatch=NotOlderThan MUST return a state at least as new as R: every write up to R is in it and its resourceVersion is not older than R", srcRVSemantics), specListNotOlderThan},
		{api("api.list.too-large-resource-version", "a list with resourceVersionMatch=NotOlderThan at a resourceVersion newer than any the server has MUST fail with 504 Timeout carrying the cause ResourceVersionTooLarge (what client-go's reflector checks), not return an older state", srcTooLarge), specListTooLarge},
		{api("api.list.options-validation", "resourceVersionMatch without resourceVersion, Exact with resourceVersion 0, and a watch with sendInitialEvents but no resourceVersionMatch=NotOlderThan MUST each be rejected with 422 naming resourceVersionMatch", srcListValidation), specListOptionsValidation},
		{api("api.watch.start-after-resource-version", "a watch from the resourceVersion of a create or an update MUST begin with the change after that write, never the write itself", srcWatchFrom), specWatchStartsAfter},
		{api("api.watch.label-selector-transitions", "a watch with a label selector MUST see an object that starts matching as ADDED and one that stops matching as DELETED carrying its last matching state at the update's resourceVersion", srcWatchFilter), specWatchLabelTransitions},
		{api("api.watch.field-selector-transitions", "a Pod watch with a field selector on spec.nodeName or status.phase MUST see a Pod that starts matching as ADDED and one that stops matching as DELETED", srcWatchFilter), specWatchFieldTransitions},
		{api("api.watch.bookmark-before-timeout", "a watch with allowWatchBookmarks and timeoutSeconds MUST get a BOOKMARK before it times out that carries only a resourceVersion, not older than the events before it, from which a new watch begins with the next change", srcWatchBookmarks), specWatchBookmarkBeforeTimeout},
		{api("api.watch.initial-events", "a watch with sendInitialEvents=true, resourceVersionMatch=NotOlderThan and allowWatchBookmarks MUST send every existing object as ADDED, then a BOOKMARK annotated k8s.io/initial-events-end, then the later changes", srcWatchList), specWatchInitialEvents},
		{api("api.delete.preconditions", "a delete whose uid or resourceVersion precondition does not match MUST fail with 409 Conflict and leave the object, and one whose preconditions match MUST delete it", srcDeletePrecond), specDeletePreconditions},
		{api("api.update.no-op", "an update that changes nothing MUST keep the object's resourceVersion and MUST NOT send a watch event", srcNoOpUpdate), specNoOpUpdate},
		{api("api.pod.graceful-deletion-shortened", "a later delete of a Pod being deleted MUST shorten its grace period (deletionTimestamp moved back by the difference) when shorter, and MUST change nothing when longer or unset", srcGracefulDelete), specGracefulDeletionShortened},
		{api("api.delete.generation", "setting an object's deletionTimestamp (a graceful delete, or a delete held by finalizers) MUST increase a set metadata.generation by one, and later deletes MUST NOT increase it again", srcDeleteGen), specDeleteGeneration},
		{api("api.update.system-fields", "an update MUST NOT change creationTimestamp or generation as sent by the client, and an update carrying another uid MUST fail with 409 Conflict", srcUpdateSystem), specUpdateSystemFields},
		{Behavior{ID: "api.compaction.boundary", Component: "api", Source: srcCompactBoundary, Needs: []Capability{Compaction},
			Must: "after a compaction, a list and a watch at the current resourceVersion MUST work, and an Exact list at a resourceVersion older than the compaction MUST fail with 410 Expired"}, specCompactionBoundary},
	}
}

// labelled is a ConfigMap carrying the spec's label, so lists and watches select only the
// spec's own objects (a live cluster's controllers write kube-root-ca.crt into the namespace).
func labelled(name, spec string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"spec": spec}}, Data: data}
}

// compareRV compares two resourceVersions as KEP-5504 defines it; a resourceVersion that is not
// a well-formed positive integer fails the spec.
func compareRV(g gomega.Gomega, a, b string) int {
	c, err := resourceversion.CompareResourceVersion(a, b)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "resourceVersions %q and %q must be comparable (KEP-5504)", a, b)
	return c
}

// eventSummary is what a spec compares of a watch event.
type eventSummary struct {
	Type watch.EventType
	Name string
	Data string
}

// expectEvent reads the next event and compares its type, name and data["v"].
func expectEvent(g gomega.Gomega, w watch.Interface, want eventSummary, what string) *corev1.ConfigMap {
	ev := nextEventOffset(g, w, 15*time.Second, 2)
	cm, isCM := ev.Object.(*corev1.ConfigMap)
	g.ExpectWithOffset(1, isCM).To(gomega.BeTrue(), "%s: expected a ConfigMap event %v, got %s %T %v", what, want, ev.Type, ev.Object, ev.Object)
	g.ExpectWithOffset(1, eventSummary{ev.Type, cm.Name, cm.Data["v"]}).To(gomega.Equal(want), "%s", what)
	return cm
}

// nextEventOffset is nextEvent reporting failures offset frames up.
func nextEventOffset(g gomega.Gomega, w watch.Interface, timeout time.Duration, offset int) watch.Event {
	select {
	case ev, open := <-w.ResultChan():
		g.ExpectWithOffset(offset, open).To(gomega.BeTrue(), "the watch closed early")
		return ev
	case <-time.After(timeout):
		g.ExpectWithOffset(offset, fmt.Errorf("no event within %s", timeout)).NotTo(gomega.HaveOccurred())
	}
	return watch.Event{}
}

func specListConsistentRead(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	only := metav1.ListOptions{LabelSelector: "spec=consistent"}
	cm, err := cms.Create(ctx, labelled("fresh", "consistent", map[string]string{"v": "0"}), metav1.CreateOptions{})
	ok(g, err, "create")
	// Each round writes, then lists at once: a list served from a cache that has not caught up
	// shows the object as it was (or not at all).
	for i := range 5 {
		if i > 0 {
			cm.Data["v"] = fmt.Sprint(i)
			cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
			ok(g, err, "update")
		}
		list, err := cms.List(ctx, only)
		ok(g, err, "list")
		g.Expect(list.Items).To(gomega.HaveLen(1), "round %d: the list must hold the object just written", i)
		g.Expect(list.Items[0].Data["v"]).To(gomega.Equal(fmt.Sprint(i)), "round %d: the list must show the last write", i)
		g.Expect(list.Items[0].ResourceVersion).To(gomega.Equal(cm.ResourceVersion), "round %d: the listed object's resourceVersion", i)
		g.Expect(compareRV(g, list.ResourceVersion, cm.ResourceVersion)).To(gomega.BeNumerically(">=", 0),
			"round %d: the list's resourceVersion %s must not be older than the object's %s", i, list.ResourceVersion, cm.ResourceVersion)
	}
}

func specListExact(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	_, err := cms.Create(ctx, labelled("gone-later", "exact", map[string]string{"v": "1"}), metav1.CreateOptions{})
	ok(g, err, "create gone-later")
	kept, err := cms.Create(ctx, labelled("kept", "exact", map[string]string{"v": "1"}), metav1.CreateOptions{})
	ok(g, err, "create kept")
	at := kept.ResourceVersion
	ok(g, cms.Delete(ctx, "gone-later", metav1.DeleteOptions{}), "delete gone-later")
	_, err = cms.Create(ctx, labelled("born-later", "exact", map[string]string{"v": "1"}), metav1.CreateOptions{})
	ok(g, err, "create born-later")
	kept.Data["v"] = "2"
	_, err = cms.Update(ctx, kept, metav1.UpdateOptions{})
	ok(g, err, "update kept")

	list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "spec=exact", ResourceVersion: at, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	ok(g, err, "list at "+at+" (Exact)")
	got := map[string]string{}
	for _, cm := range list.Items {
		got[cm.Name] = cm.Data["v"]
	}
	g.Expect(got).To(gomega.Equal(map[string]string{"gone-later": "1", "kept": "1"}), "the state at %s: both objects, as first written", at)
	g.Expect(list.ResourceVersion).To(gomega.Equal(at), "an Exact list's resourceVersion")

	now, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "spec=exact"})
	ok(g, err, "list now")
	got = map[string]string{}
	for _, cm := range now.Items {
		got[cm.Name] = cm.Data["v"]
	}
	g.Expect(got).To(gomega.Equal(map[string]string{"born-later": "1", "kept": "2"}), "the current state")
}

func specListNotOlderThan(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	_, err := cms.Create(ctx, labelled("removed", "not-older", map[string]string{"v": "1"}), metav1.CreateOptions{})
	ok(g, err, "create removed")
	cm, err := cms.Create(ctx, labelled("changed", "not-older", map[string]string{"v": "1"}), metav1.CreateOptions{})
	ok(g, err, "create changed")
	ok(g, cms.Delete(ctx, "removed", metav1.DeleteOptions{}), "delete removed")
	for i := range 3 {
		cm.Data["v"] = fmt.Sprint(i + 2)
		cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		ok(g, err, "update changed")
		// A NotOlderThan read at the write just made: a cache that answers from the state it
		// has without waiting for R shows the older value (or the deleted object).
		list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "spec=not-older", ResourceVersion: cm.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
		ok(g, err, "list NotOlderThan "+cm.ResourceVersion)
		got := map[string]string{}
		for _, c := range list.Items {
			got[c.Name] = c.Data["v"]
		}
		g.Expect(got).To(gomega.Equal(map[string]string{"changed": fmt.Sprint(i + 2)}), "round %d: the state at or after %s", i, cm.ResourceVersion)
		g.Expect(compareRV(g, list.ResourceVersion, cm.ResourceVersion)).To(gomega.BeNumerically(">=", 0),
			"round %d: the list's resourceVersion %s must not be older than %s", i, list.ResourceVersion, cm.ResourceVersion)
	}
}

func specListTooLarge(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	cm, err := cms.Create(ctx, labelled("now", "too-large", nil), metav1.CreateOptions{})
	ok(g, err, "create")
	n, err := strconv.ParseUint(cm.ResourceVersion, 10, 64)
	ok(g, err, "a resourceVersion is a decimal integer (KEP-5504)")
	future := strconv.FormatUint(n+1_000_000_000, 10)
	// Only NotOlderThan (and a plain resourceVersion, which means the same): kube-apiserver 1.37
	// answers an Exact list at a future resourceVersion from its cache's snapshots and holds
	// it until the request times out, which is no rule to check.
	// No retries: kube-apiserver answers after waiting 3 s for the resourceVersion, with a
	// Retry-After that client-go would honour ten times.
	err = e.client.CoreV1().RESTClient().Get().Namespace(e.ns).Resource("configmaps").
		Param("labelSelector", "spec=too-large").Param("resourceVersion", future).
		Param("resourceVersionMatch", string(metav1.ResourceVersionMatchNotOlderThan)).
		MaxRetries(0).Do(ctx).Error()
	g.Expect(err).To(gomega.HaveOccurred(), "a NotOlderThan list at %s, beyond the server's %s, must fail", future, cm.ResourceVersion)
	g.Expect(apierrors.IsTimeout(err)).To(gomega.BeTrue(), "a list at a future resourceVersion: expected 504 Timeout, got %v", err)
	g.Expect(apierrors.HasStatusCause(err, metav1.CauseTypeResourceVersionTooLarge)).To(gomega.BeTrue(), "a list at a future resourceVersion: the Status must carry the cause ResourceVersionTooLarge, got %v", err)
}

// expectInvalidField asserts a 422 Invalid whose causes name field.
func expectInvalidField(g gomega.Gomega, err error, what, field string) {
	g.ExpectWithOffset(1, err).To(gomega.HaveOccurred(), "%s: expected 422 Invalid, got success", what)
	g.ExpectWithOffset(1, apierrors.IsInvalid(err)).To(gomega.BeTrue(), "%s: expected 422 Invalid, got %v", what, err)
	var fields []string
	if st, isStatus := err.(apierrors.APIStatus); isStatus && st.Status().Details != nil {
		for _, c := range st.Status().Details.Causes {
			fields = append(fields, c.Field)
		}
	}
	g.ExpectWithOffset(1, fields).To(gomega.ContainElement(field), "%s: the 422 must name %s (%v)", what, field, err)
}

func specListOptionsValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	_, err := cms.List(ctx, metav1.ListOptions{ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	expectInvalidField(g, err, "a list with resourceVersionMatch and no resourceVersion", "resourceVersionMatch")
	_, err = cms.List(ctx, metav1.ListOptions{ResourceVersion: "0", ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	expectInvalidField(g, err, "a list with resourceVersionMatch=Exact and resourceVersion 0", "resourceVersionMatch")
	w, err := cms.Watch(ctx, metav1.ListOptions{SendInitialEvents: ptr.To(true), AllowWatchBookmarks: true})
	if err == nil {
		w.Stop()
	}
	expectInvalidField(g, err, "a watch with sendInitialEvents and no resourceVersionMatch", "resourceVersionMatch")
}

func specWatchStartsAfter(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	cm, err := cms.Create(ctx, labelled("steps", "starts-after", map[string]string{"v": "1"}), metav1.CreateOptions{})
	ok(g, err, "create")
	rvs := []string{cm.ResourceVersion}
	for _, v := range []string{"2", "3"} {
		cm.Data["v"] = v
		cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		ok(g, err, "update to "+v)
		rvs = append(rvs, cm.ResourceVersion)
	}
	fromCreate, err := cms.Watch(ctx, metav1.ListOptions{LabelSelector: "spec=starts-after", ResourceVersion: rvs[0]})
	ok(g, err, "watch from the create's resourceVersion")
	defer fromCreate.Stop()
	got := expectEvent(g, fromCreate, eventSummary{watch.Modified, "steps", "2"}, "the first event of a watch from the create is the update to 2")
	g.Expect(got.ResourceVersion).To(gomega.Equal(rvs[1]), "its resourceVersion is the first update's")
	w, err := cms.Watch(ctx, metav1.ListOptions{LabelSelector: "spec=starts-after", ResourceVersion: rvs[1]})
	ok(g, err, "watch from the first update's resourceVersion")
	defer w.Stop()
	got = expectEvent(g, w, eventSummary{watch.Modified, "steps", "3"}, "the first event of a watch from the update to 2 is the update to 3")
	g.Expect(got.ResourceVersion).To(gomega.Equal(rvs[2]), "its resourceVersion is the second update's")
	cm.Data["v"] = "4"
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	ok(g, err, "update to 4")
	expectEvent(g, w, eventSummary{watch.Modified, "steps", "4"}, "then the update to 4")
}

func specWatchLabelTransitions(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	base, err := cms.Create(ctx, labelled("base", "transitions", nil), metav1.CreateOptions{})
	ok(g, err, "create base")
	w, err := cms.Watch(ctx, metav1.ListOptions{LabelSelector: "spec=transitions,sel=in", ResourceVersion: base.ResourceVersion})
	ok(g, err, "watch sel=in")
	defer w.Stop()
	relabel := func(cm *corev1.ConfigMap, sel, v string) *corev1.ConfigMap {
		cm.Labels["sel"], cm.Data = sel, map[string]string{"v": v}
		out, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
		ok(g, err, "update to sel="+sel+" v="+v)
		return out
	}
	c := labelled("mover", "transitions", nil)
	c.Labels["sel"] = "out"
	c, err = cms.Create(ctx, c, metav1.CreateOptions{})
	ok(g, err, "create mover with sel=out")
	c = relabel(c, "in", "1")
	added := expectEvent(g, w, eventSummary{watch.Added, "mover", "1"}, "an object that starts matching is ADDED (the create with sel=out is not seen)")
	g.Expect(added.ResourceVersion).To(gomega.Equal(c.ResourceVersion), "the ADDED event's resourceVersion")
	c = relabel(c, "in", "2")
	expectEvent(g, w, eventSummary{watch.Modified, "mover", "2"}, "an update that keeps it matching is MODIFIED")
	c = relabel(c, "out", "3")
	deleted := expectEvent(g, w, eventSummary{watch.Deleted, "mover", "2"}, "an object that stops matching is DELETED with its last matching state")
	g.Expect(deleted.Labels).To(gomega.HaveKeyWithValue("sel", "in"), "the DELETED object is the last state the watch matched")
	g.Expect(deleted.ResourceVersion).To(gomega.Equal(c.ResourceVersion), "the DELETED event's resourceVersion is the update's")
	relabel(c, "out", "4")
	ok(g, cms.Delete(ctx, "mover", metav1.DeleteOptions{}), "delete mover (no longer matching)")
	end := labelled("end", "transitions", map[string]string{"v": "end"})
	end.Labels["sel"] = "in"
	_, err = cms.Create(ctx, end, metav1.CreateOptions{})
	ok(g, err, "create end")
	expectEvent(g, w, eventSummary{watch.Added, "end", "end"}, "changes to an object that does not match are not sent: the next event is end's")
}

// podEvent summarises a Pod watch event.
type podEvent struct {
	Type  watch.EventType
	Name  string
	Node  string
	Phase corev1.PodPhase
}

func expectPodEvent(g gomega.Gomega, w watch.Interface, want podEvent, what string) {
	ev := nextEventOffset(g, w, 15*time.Second, 2)
	p, isPod := ev.Object.(*corev1.Pod)
	g.ExpectWithOffset(1, isPod).To(gomega.BeTrue(), "%s: expected a Pod event %v, got %s %T %v", what, want, ev.Type, ev.Object, ev.Object)
	g.ExpectWithOffset(1, podEvent{ev.Type, p.Name, p.Spec.NodeName, p.Status.Phase}).To(gomega.Equal(want), "%s", what)
}

func setPodPhase(ctx context.Context, g gomega.Gomega, pods typedcorev1.PodInterface, name string, phase corev1.PodPhase) {
	_, err := updateRetrying(func() (*corev1.Pod, error) { return pods.Get(ctx, name, metav1.GetOptions{}) },
		func(p *corev1.Pod) { p.Status.Phase = phase },
		func(p *corev1.Pod) (*corev1.Pod, error) { return pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}) })
	ok(g, err, fmt.Sprintf("setting %s's phase to %s", name, phase))
}

func specWatchFieldTransitions(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pods := e.client.CoreV1().Pods(e.ns)
	onNode, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=node-a"})
	ok(g, err, "watch spec.nodeName=node-a")
	defer onNode.Stop()
	running, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
	ok(g, err, "watch status.phase=Running")
	defer running.Stop()
	_, err = pods.Create(ctx, pod("mover"), metav1.CreateOptions{})
	ok(g, err, "create mover (unbound, Pending)")
	ok(g, pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "mover"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-a"}}, metav1.CreateOptions{}), "bind mover to node-a")
	expectPodEvent(g, onNode, podEvent{watch.Added, "mover", "node-a", corev1.PodPending}, "binding makes the Pod match spec.nodeName=node-a: ADDED")
	setPodPhase(ctx, g, pods, "mover", corev1.PodRunning)
	expectPodEvent(g, onNode, podEvent{watch.Modified, "mover", "node-a", corev1.PodRunning}, "node-a watch: Running")
	expectPodEvent(g, running, podEvent{watch.Added, "mover", "node-a", corev1.PodRunning}, "the phase change makes it match status.phase=Running: ADDED")
	setPodPhase(ctx, g, pods, "mover", corev1.PodSucceeded)
	expectPodEvent(g, onNode, podEvent{watch.Modified, "mover", "node-a", corev1.PodSucceeded}, "node-a watch: Succeeded")
	expectPodEvent(g, running, podEvent{watch.Deleted, "mover", "node-a", corev1.PodRunning}, "leaving Running is DELETED for status.phase=Running, with the last matching state")
	_, err = pods.Create(ctx, pod("end"), metav1.CreateOptions{})
	ok(g, err, "create end")
	ok(g, pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "end"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-a"}}, metav1.CreateOptions{}), "bind end to node-a")
	setPodPhase(ctx, g, pods, "end", corev1.PodRunning)
	expectPodEvent(g, onNode, podEvent{watch.Added, "end", "node-a", corev1.PodPending}, "node-a watch: end bound")
	expectPodEvent(g, running, podEvent{watch.Added, "end", "node-a", corev1.PodRunning}, "the Running watch's next event is end's: nothing was sent for the Succeeded mover")
}

func specWatchBookmarkBeforeTimeout(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	only := metav1.ListOptions{LabelSelector: "spec=bookmark"}
	cm, err := cms.Create(ctx, labelled("marked", "bookmark", map[string]string{"v": "1"}), metav1.CreateOptions{})
	ok(g, err, "create")
	opts := only
	opts.ResourceVersion, opts.AllowWatchBookmarks, opts.TimeoutSeconds = cm.ResourceVersion, true, ptr.To[int64](8)
	w, err := cms.Watch(ctx, opts)
	ok(g, err, "watch with allowWatchBookmarks and timeoutSeconds=8")
	defer w.Stop()
	cm.Data["v"] = "2"
	cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	ok(g, err, "update")
	expectEvent(g, w, eventSummary{watch.Modified, "marked", "2"}, "the update")
	var bookmark *corev1.ConfigMap
	deadline := time.After(20 * time.Second)
	for bookmark == nil {
		select {
		case ev, open := <-w.ResultChan():
			g.Expect(open).To(gomega.BeTrue(), "the watch timed out without sending a BOOKMARK")
			g.Expect(ev.Type).To(gomega.Equal(watch.Bookmark), "nothing else changed: only a BOOKMARK may come, got %s %v", ev.Type, ev.Object)
			b, isCM := ev.Object.(*corev1.ConfigMap)
			g.Expect(isCM).To(gomega.BeTrue(), "a BOOKMARK carries an object of the watched kind, got %T", ev.Object)
			bookmark = b
		case <-deadline:
			g.Expect(fmt.Errorf("neither a BOOKMARK nor the end of the watch within 20s")).NotTo(gomega.HaveOccurred())
		}
	}
	g.Expect(bookmark.Name).To(gomega.BeEmpty(), "a BOOKMARK carries only a resourceVersion: name")
	g.Expect(bookmark.Namespace).To(gomega.BeEmpty(), "a BOOKMARK carries only a resourceVersion: namespace")
	g.Expect(bookmark.Labels).To(gomega.BeEmpty(), "a BOOKMARK carries only a resourceVersion: labels")
	g.Expect(bookmark.Data).To(gomega.BeEmpty(), "a BOOKMARK carries only a resourceVersion: data")
	g.Expect(compareRV(g, bookmark.ResourceVersion, cm.ResourceVersion)).To(gomega.BeNumerically(">=", 0),
		"the BOOKMARK's resourceVersion %s must not be older than the update's %s", bookmark.ResourceVersion, cm.ResourceVersion)

	opts = only
	opts.ResourceVersion = bookmark.ResourceVersion
	again, err := cms.Watch(ctx, opts)
	ok(g, err, "watch from the BOOKMARK's resourceVersion")
	defer again.Stop()
	cm.Data["v"] = "3"
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	ok(g, err, "update after the bookmark")
	expectEvent(g, again, eventSummary{watch.Modified, "marked", "3"}, "a watch from the BOOKMARK begins with the next change")
}

func specWatchInitialEvents(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	latest := map[string]string{}
	var newest string
	for _, n := range []string{"one", "two", "three"} {
		cm, err := cms.Create(ctx, labelled(n, "initial", map[string]string{"v": n}), metav1.CreateOptions{})
		ok(g, err, "create "+n)
		latest[n], newest = cm.ResourceVersion, cm.ResourceVersion
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{LabelSelector: "spec=initial", SendInitialEvents: ptr.To(true),
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true})
	ok(g, err, "watch with sendInitialEvents")
	defer w.Stop()
	got := map[string]string{}
	var bookmark *corev1.ConfigMap
	for bookmark == nil {
		ev := nextEvent(g, w, 15*time.Second)
		cm, isCM := ev.Object.(*corev1.ConfigMap)
		g.Expect(isCM).To(gomega.BeTrue(), "an initial event carries a ConfigMap, got %s %T %v", ev.Type, ev.Object, ev.Object)
		switch ev.Type {
		case watch.Added:
			g.Expect(got).NotTo(gomega.HaveKey(cm.Name), "%s sent twice", cm.Name)
			got[cm.Name] = cm.ResourceVersion
		case watch.Bookmark:
			bookmark = cm
		default:
			g.Expect(ev.Type).To(gomega.BeElementOf(watch.Added, watch.Bookmark), "the initial events are ADDED, ended by a BOOKMARK")
		}
	}
	g.Expect(got).To(gomega.Equal(latest), "every existing object, as last written, before the BOOKMARK")
	g.Expect(bookmark.Annotations).To(gomega.HaveKeyWithValue(metav1.InitialEventsAnnotationKey, "true"), "the BOOKMARK ending the initial events")
	g.Expect(bookmark.Name).To(gomega.BeEmpty(), "the BOOKMARK carries no object name")
	g.Expect(compareRV(g, bookmark.ResourceVersion, newest)).To(gomega.BeNumerically(">=", 0),
		"the BOOKMARK's resourceVersion %s must not be older than the newest object's %s", bookmark.ResourceVersion, newest)
	_, err = cms.Patch(ctx, "two", types.MergePatchType, []byte(`{"data":{"v":"changed"}}`), metav1.PatchOptions{})
	ok(g, err, "patch two")
	expectEvent(g, w, eventSummary{watch.Modified, "two", "changed"}, "after the initial events, the later changes")
}

func specDeletePreconditions(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	created, err := cms.Create(ctx, labelled("guarded", "preconditions", map[string]string{"v": "1"}), metav1.CreateOptions{})
	ok(g, err, "create")
	current := created.DeepCopy()
	current.Data["v"] = "2"
	current, err = cms.Update(ctx, current, metav1.UpdateOptions{})
	ok(g, err, "update")
	stillThere := func(what string) {
		got, err := cms.Get(ctx, "guarded", metav1.GetOptions{})
		ok(g, err, what+": the object must still exist")
		g.ExpectWithOffset(1, got.DeletionTimestamp).To(gomega.BeNil(), "%s: the object must not be marked deleted", what)
	}
	err = cms.Delete(ctx, "guarded", metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions("00000000-0000-0000-0000-000000000000")})
	g.Expect(apierrors.IsConflict(err)).To(gomega.BeTrue(), "a delete with another uid: expected 409 Conflict, got %v", err)
	stillThere("after the uid mismatch")
	err = cms.Delete(ctx, "guarded", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: ptr.To(created.ResourceVersion)}})
	g.Expect(apierrors.IsConflict(err)).To(gomega.BeTrue(), "a delete with a stale resourceVersion: expected 409 Conflict, got %v", err)
	stillThere("after the resourceVersion mismatch")
	err = cms.Delete(ctx, "guarded", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(created.UID), ResourceVersion: ptr.To(current.ResourceVersion)}})
	ok(g, err, "a delete whose uid and resourceVersion match")
	_, err = cms.Get(ctx, "guarded", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the object must be gone, Get returned %v", err)
}

func specNoOpUpdate(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	cm, err := cms.Create(ctx, labelled("same", "no-op", map[string]string{"v": "1"}), metav1.CreateOptions{})
	ok(g, err, "create")
	w, err := cms.Watch(ctx, metav1.ListOptions{LabelSelector: "spec=no-op", ResourceVersion: cm.ResourceVersion})
	ok(g, err, "watch from the create")
	defer w.Stop()
	for i := range 2 {
		cur, err := cms.Get(ctx, "same", metav1.GetOptions{})
		ok(g, err, "get")
		out, err := cms.Update(ctx, cur, metav1.UpdateOptions{})
		ok(g, err, "an update with the object as read")
		g.Expect(out.ResourceVersion).To(gomega.Equal(cm.ResourceVersion), "no-op update %d: the resourceVersion must stay", i)
	}
	got, err := cms.Get(ctx, "same", metav1.GetOptions{})
	ok(g, err, "get")
	g.Expect(got.ResourceVersion).To(gomega.Equal(cm.ResourceVersion), "the stored resourceVersion must stay")
	_, err = cms.Create(ctx, labelled("marker", "no-op", map[string]string{"v": "m"}), metav1.CreateOptions{})
	ok(g, err, "create marker")
	expectEvent(g, w, eventSummary{watch.Added, "marker", "m"}, "no event for the no-op updates: the next one is the marker's")
}

// boundPod creates a Pod bound to node-x (so its deletion is graceful) and returns it once a
// read at the binding's resourceVersion has been served. kube-apiserver's delete first runs its
// graceful-deletion check on its watch cache's copy of the Pod; a copy from before the binding
// (no nodeName) turns the delete into an immediate one. A read at resourceVersion R waits until
// that cache has R.
func boundPod(ctx context.Context, g gomega.Gomega, pods typedcorev1.PodInterface, name string) *corev1.Pod {
	_, err := pods.Create(ctx, pod(name), metav1.CreateOptions{})
	ok(g, err, "create "+name)
	ok(g, pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-x"}}, metav1.CreateOptions{}), "bind "+name)
	bound, err := pods.Get(ctx, name, metav1.GetOptions{})
	ok(g, err, "get "+name)
	g.ExpectWithOffset(1, bound.Spec.NodeName).To(gomega.Equal("node-x"), "the binding")
	bound, err = pods.Get(ctx, name, metav1.GetOptions{ResourceVersion: bound.ResourceVersion})
	ok(g, err, "get "+name+" at the binding's resourceVersion")
	return bound
}

// deletingPod creates a bound Pod and deletes it with grace seconds.
func deletingPod(ctx context.Context, g gomega.Gomega, pods typedcorev1.PodInterface, name string, grace int64) *corev1.Pod {
	boundPod(ctx, g, pods, name)
	ok(g, pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(grace)}), fmt.Sprintf("delete %s with grace %d", name, grace))
	got, err := pods.Get(ctx, name, metav1.GetOptions{})
	ok(g, err, name+" must stay while its grace period runs")
	g.ExpectWithOffset(1, got.DeletionTimestamp).NotTo(gomega.BeNil(), "deletionTimestamp")
	g.ExpectWithOffset(1, got.DeletionGracePeriodSeconds).To(gomega.Equal(ptr.To(grace)), "deletionGracePeriodSeconds")
	return got
}

func specGracefulDeletionShortened(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pods := e.client.CoreV1().Pods(e.ns)
	first := deletingPod(ctx, g, pods, "shortened", 600)
	again := func(opts metav1.DeleteOptions, what string) *corev1.Pod {
		ok(g, pods.Delete(ctx, "shortened", opts), what)
		got, err := pods.Get(ctx, "shortened", metav1.GetOptions{})
		ok(g, err, what+": the Pod must still be there")
		return got
	}
	short := again(metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](300)}, "delete again with grace 300")
	g.Expect(short.DeletionGracePeriodSeconds).To(gomega.Equal(ptr.To[int64](300)), "a shorter grace period replaces the longer one")
	want := first.DeletionTimestamp.Add(-300 * time.Second)
	g.Expect(short.DeletionTimestamp.Time.Equal(want)).To(gomega.BeTrue(),
		"deletionTimestamp must move back by the difference (600s-300s): want %s, got %s", want.UTC(), short.DeletionTimestamp.UTC())
	for _, opts := range []metav1.DeleteOptions{{GracePeriodSeconds: ptr.To[int64](450)}, {}} {
		what := "delete again without a grace period"
		if opts.GracePeriodSeconds != nil {
			what = fmt.Sprintf("delete again with the longer grace %d", *opts.GracePeriodSeconds)
		}
		got := again(opts, what)
		g.Expect(got.DeletionGracePeriodSeconds).To(gomega.Equal(ptr.To[int64](300)), "%s: deletionGracePeriodSeconds must stay", what)
		g.Expect(got.DeletionTimestamp.Equal(short.DeletionTimestamp)).To(gomega.BeTrue(), "%s: deletionTimestamp must stay %s, got %s", what, short.DeletionTimestamp.UTC(), got.DeletionTimestamp.UTC())
	}
	ok(g, pods.Delete(ctx, "shortened", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}), "delete with grace 0")
	g.Eventually(func() bool {
		_, err := pods.Get(ctx, "shortened", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(10*time.Second).Should(gomega.BeTrue(), "grace 0 removes the Pod")
}

func specDeleteGeneration(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	deps := e.client.AppsV1().Deployments(e.ns)
	d := deployment("held")
	d.Finalizers = []string{"example.com/hold"}
	d.Spec.Replicas = ptr.To[int32](0)
	created, err := deps.Create(ctx, d, metav1.CreateOptions{})
	ok(g, err, "create a Deployment with a finalizer")
	e.c.Cleanup(func() {
		_, _ = deps.Patch(context.Background(), "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	})
	gen := created.Generation
	g.Expect(gen).To(gomega.BeNumerically(">", 0), "a Deployment has a generation")
	getGen := func(what string, wantDeleting bool) int64 {
		got, err := deps.Get(ctx, "held", metav1.GetOptions{})
		ok(g, err, what)
		g.ExpectWithOffset(1, got.DeletionTimestamp != nil).To(gomega.Equal(wantDeleting), "%s: deletionTimestamp set", what)
		return got.Generation
	}
	for i := range 2 {
		ok(g, deps.Delete(ctx, "held", metav1.DeleteOptions{}), fmt.Sprintf("delete %d", i+1))
		g.Expect(getGen(fmt.Sprintf("after delete %d", i+1), true)).To(gomega.Equal(gen+1), "delete %d: the generation is bumped once, when deletionTimestamp is set", i+1)
	}
	_, err = deps.Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		ok(g, err, "removing the finalizer")
	}

	pods := e.client.CoreV1().Pods(e.ns)
	podGen := boundPod(ctx, g, pods, "graceful-gen").Generation
	g.Expect(podGen).To(gomega.BeNumerically(">", 0), "a Pod has a generation")
	for i, grace := range []int64{300, 100} {
		ok(g, pods.Delete(ctx, "graceful-gen", metav1.DeleteOptions{GracePeriodSeconds: ptr.To(grace)}), fmt.Sprintf("delete %d, grace %d", i+1, grace))
		got, err := pods.Get(ctx, "graceful-gen", metav1.GetOptions{})
		ok(g, err, "a bound Pod stays while its grace period runs")
		g.Expect(got.DeletionGracePeriodSeconds).To(gomega.Equal(ptr.To(grace)), "delete %d: deletionGracePeriodSeconds", i+1)
		g.Expect(got.Generation).To(gomega.Equal(podGen+1), "delete %d: a graceful delete bumps the Pod's generation once", i+1)
	}
	ok(g, pods.Delete(ctx, "graceful-gen", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}), "delete with grace 0")
}

func specUpdateSystemFields(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	deps := e.client.AppsV1().Deployments(e.ns)
	created, err := deps.Create(ctx, deployment("system"), metav1.CreateOptions{})
	ok(g, err, "create")
	changed, err := updateRetrying(func() (*appsv1.Deployment, error) { return deps.Get(ctx, "system", metav1.GetOptions{}) },
		func(d *appsv1.Deployment) {
			d.CreationTimestamp = metav1.NewTime(d.CreationTimestamp.Add(-48 * time.Hour))
			d.Generation = 42
			d.Labels = map[string]string{"touched": "yes"}
		},
		func(d *appsv1.Deployment) (*appsv1.Deployment, error) {
			return deps.Update(ctx, d, metav1.UpdateOptions{})
		})
	ok(g, err, "an update sending another creationTimestamp and generation")
	g.Expect(changed.Labels).To(gomega.HaveKeyWithValue("touched", "yes"), "the rest of the update is applied")
	g.Expect(changed.CreationTimestamp.Equal(&created.CreationTimestamp)).To(gomega.BeTrue(), "creationTimestamp must stay %s, got %s", created.CreationTimestamp, changed.CreationTimestamp)
	g.Expect(changed.Generation).To(gomega.Equal(created.Generation), "a client cannot set the generation (only a spec change moves it)")
	g.Expect(changed.UID).To(gomega.Equal(created.UID), "uid")

	_, err = updateRetrying(func() (*appsv1.Deployment, error) { return deps.Get(ctx, "system", metav1.GetOptions{}) },
		func(d *appsv1.Deployment) {
			d.UID = "00000000-0000-0000-0000-000000000000"
			d.Labels = map[string]string{"touched": "again"}
		},
		func(d *appsv1.Deployment) (*appsv1.Deployment, error) {
			return deps.Update(ctx, d, metav1.UpdateOptions{})
		})
	g.Expect(apierrors.IsConflict(err)).To(gomega.BeTrue(), "an update with another uid: expected 409 Conflict, got %v", err)
	got, err := deps.Get(ctx, "system", metav1.GetOptions{})
	ok(g, err, "get")
	g.Expect(got.UID).To(gomega.Equal(created.UID), "the uid must stay")
	g.Expect(got.Labels).To(gomega.HaveKeyWithValue("touched", "yes"), "the refused update must change nothing")
}

func specCompactionBoundary(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	only := metav1.ListOptions{LabelSelector: "spec=compaction"}
	cm, err := cms.Create(ctx, labelled("edge", "compaction", map[string]string{"v": "1"}), metav1.CreateOptions{})
	ok(g, err, "create")
	old := cm.ResourceVersion
	cm.Data["v"] = "2"
	cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	ok(g, err, "update")
	ok(g, e.server.Compact(ctx), "compacting the storage")

	opts := only
	opts.ResourceVersion, opts.ResourceVersionMatch = old, metav1.ResourceVersionMatchExact
	_, err = cms.List(ctx, opts)
	g.Expect(apierrors.IsResourceExpired(err) || apierrors.IsGone(err)).To(gomega.BeTrue(), "an Exact list at %s, older than the compaction: expected 410 Expired, got %v", old, err)

	list, err := cms.List(ctx, only)
	ok(g, err, "a list after the compaction")
	opts = only
	opts.ResourceVersion, opts.ResourceVersionMatch = list.ResourceVersion, metav1.ResourceVersionMatchExact
	exact, err := cms.List(ctx, opts)
	ok(g, err, "an Exact list at the current resourceVersion "+list.ResourceVersion+" (the compacted revision or later)")
	g.Expect(configMapNames(exact.Items)).To(gomega.Equal([]string{"edge"}), "the Exact list at the current resourceVersion")
	opts = only
	opts.ResourceVersion = list.ResourceVersion
	w, err := cms.Watch(ctx, opts)
	ok(g, err, "a watch from the current resourceVersion "+list.ResourceVersion)
	defer w.Stop()
	cm.Data["v"] = "3"
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	ok(g, err, "update after the compaction")
	expectEvent(g, w, eventSummary{watch.Modified, "edge", "3"}, "a watch from the current resourceVersion delivers the next change (no 410)")
}

// configMapNames returns the sorted names of ConfigMaps.
func configMapNames(items []corev1.ConfigMap) []string {
	var out []string
	for _, cm := range items {
		out = append(out, cm.Name)
	}
	sort.Strings(out)
	return out
}
