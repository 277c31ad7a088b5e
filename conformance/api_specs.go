package conformance

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// Sources of the API behaviours.
const (
	srcSeedValidates       = "seed: \"it validates every request before storing or acting on it\""
	srcSeedOnlyEntry       = "seed: \"The API server is the only component that anything talks to directly\""
	srcGenerationUntracked = "Kubernetes API conventions: metadata.generation (github.com/kubernetes/community api-conventions.md#metadata) — set by the strategies of kinds with a spec (pkg/registry/*/strategy.go); test/e2e/instrumentation/core_events.go compares an updated Event with the one sent"
	srcAPIConcepts         = "Kubernetes API concepts (kubernetes.io/docs/reference/using-api/api-concepts)"
	srcPodValidation       = "Kubernetes Pod API validation (pkg/apis/core/validation)"
	srcAppsAPI             = "Kubernetes apps/v1 API (Deployment and ReplicaSet validation)"
	srcDefaults            = "Kubernetes API defaulting (pkg/apis/core/v1/defaults.go, pkg/apis/apps/v1/defaults.go)"
	srcFinalizers          = "Kubernetes: Finalizers (kubernetes.io/docs/concepts/overview/working-with-objects/finalizers)"
	srcPodLifecycle        = "Kubernetes: Pod lifecycle, termination of Pods"
	srcBinding             = "seed: \"The scheduler's job is to find a suitable node and record that assignment\""
	srcFieldValid          = "Kubernetes API concepts: field validation (fieldValidation=Strict)"
)

// api builds one API behaviour.
func api(id, must, source string) Behavior {
	return Behavior{ID: id, Component: "api", Must: must, Source: source}
}

func apiSpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.validation.pod-requires-containers", "creating a Pod without containers MUST fail with 422 naming spec.containers, and store nothing", srcPodValidation), specPodRequiresContainers},
		{api("api.validation.container-image", "creating a Pod whose container has no image MUST fail with 422 naming spec.containers[0].image, and store nothing", srcPodValidation), specContainerImage},
		{api("api.validation.object-name", "creating an object whose name is not a DNS-1123 subdomain MUST fail with 422 naming metadata.name", srcSeedValidates), specObjectName},
		{api("api.validation.labels", "creating an object with an invalid label key or value MUST fail with 422 naming metadata.labels", srcSeedValidates), specLabels},
		{api("api.validation.restart-policy", "a Pod restartPolicy other than Always, OnFailure or Never MUST be rejected with 422 naming spec.restartPolicy", srcPodValidation), specRestartPolicy},
		{api("api.validation.container-port", "a container port outside 1-65535 MUST be rejected with 422 naming its path", srcPodValidation), specContainerPort},
		{api("api.validation.resource-limits", "a container whose request exceeds its limit MUST be rejected with 422 naming spec.containers[0].resources.requests (or its [cpu] entry)", srcPodValidation), specResourceLimits},
		{api("api.validation.every-error", "an object with several invalid fields MUST be rejected with one 422 Status naming every one of them", srcSeedValidates), specEveryError},
		{api("api.validation.selector-matches-template", "a Deployment whose selector does not match its template labels MUST be rejected with 422 naming spec.template.metadata.labels", srcAppsAPI), specSelectorMatchesTemplate},
		{api("api.validation.immutable-pod-spec", "an update of a Pod's spec other than container images MUST be rejected with 422, while an image change MUST be accepted", srcPodValidation), specImmutablePodSpec},
		{api("api.validation.immutable-selector", "an update of a ReplicaSet's selector MUST be rejected with 422 naming spec.selector", srcAppsAPI), specImmutableSelector},
		{api("api.validation.strict-fields", "a create with fieldValidation=Strict and an unknown field MUST be rejected with 400 and store nothing", srcFieldValid), specStrictFields},
		{api("api.defaults.pod", "a created Pod MUST get Kubernetes' defaults: restartPolicy Always, terminationGracePeriodSeconds 30, dnsPolicy ClusterFirst, imagePullPolicy Always for :latest and IfNotPresent for other tags", srcDefaults), specPodDefaults},
		{api("api.defaults.deployment", "a created Deployment MUST get Kubernetes' defaults: 1 replica, RollingUpdate with 25% surge and unavailability, revisionHistoryLimit 10, progressDeadlineSeconds 600", srcDefaults), specDeploymentDefaults},
		{api("api.metadata.server-fields", "a created object MUST get a uid, a creationTimestamp, a resourceVersion and generation 1 from the server", srcAPIConcepts), specServerFields},
		{api("api.metadata.generation", "metadata.generation MUST increase when the spec changes and MUST NOT when only labels or status change", srcAPIConcepts), specGeneration},
		{api("api.metadata.generation-untracked", "an update of an Event or a ConfigMap (kinds whose strategy does not track generation) MUST NOT change its metadata.generation", srcGenerationUntracked), specGenerationUntracked},
		{api("api.create.generate-name", "a create with generateName and no name MUST get a unique name starting with the prefix", srcAPIConcepts), specGenerateName},
		{api("api.create.already-exists", "creating an object whose name is taken MUST fail with 409 AlreadyExists and leave the first object unchanged", srcAPIConcepts), specAlreadyExists},
		{api("api.get.not-found", "reading a missing object MUST fail with 404 NotFound", srcAPIConcepts), specNotFound},
		{api("api.create.namespace-must-exist", "creating an object in a namespace that does not exist MUST fail with 404 NotFound", srcAPIConcepts), specNamespaceMustExist},
		{api("api.update.stale-resource-version", "an update carrying a stale resourceVersion MUST fail with 409 Conflict and change nothing", srcAPIConcepts), specStaleUpdate},
		{api("api.update.concurrent-writers", "concurrent read-modify-write updates retried on conflict MUST all take effect: no acknowledged update is lost", srcAPIConcepts), specConcurrentUpdates},
		{api("api.list.label-selector", "a list with a label selector MUST return exactly the matching objects", srcAPIConcepts), specLabelSelector},
		{api("api.list.field-selector", "a Pod list with field selectors on spec.nodeName and status.phase MUST return exactly the matching Pods", srcAPIConcepts), specFieldSelector},
		{api("api.list.pagination", "paging a list with limit and continue MUST return every object exactly once", srcAPIConcepts), specAPIPagination},
		{api("api.watch.from-resource-version", "a watch from a resourceVersion MUST deliver every later change, in order, with increasing resourceVersions", srcSeedOnlyEntry), specWatchFromRV},
		{api("api.watch.informer", "a client-go informer MUST sync the existing objects and then follow every add, update and delete", srcSeedOnlyEntry), specInformer},
		{Behavior{ID: "api.watch.expired", Component: "api", Source: srcAPIConcepts, Needs: []Capability{Compaction},
			Must: "a watch from a resourceVersion older than the storage's compaction MUST fail with 410 Gone (Expired)"}, specAPIWatchExpired},
		{api("api.subresource.status-isolation", "writes to the status subresource MUST change only status, and writes to the main resource MUST NOT change status", srcAPIConcepts), specStatusIsolation},
		{api("api.subresource.scale", "the scale subresource MUST read and change only spec.replicas of a Deployment", srcAPIConcepts), specScale},
		{api("api.pod.binding", "a Binding MUST set an unassigned Pod's spec.nodeName, and a second Binding of the same Pod MUST fail with 409", srcBinding), specBinding},
		{api("api.delete.finalizers", "deleting an object with finalizers MUST only set its deletionTimestamp, and the object MUST disappear once its finalizers are removed", srcFinalizers), specFinalizers},
		{api("api.pod.graceful-deletion", "deleting a Pod bound to a node MUST keep it with a deletionTimestamp until it is deleted with grace period 0", srcPodLifecycle), specGracefulDeletion},
	}
}

// pod is a minimal valid Pod.
//
// Its schedulerName names no scheduler, so on a live cluster no scheduler binds it and no
// kubelet runs it: nothing but the spec writes it.
func pod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec:       corev1.PodSpec{SchedulerName: unscheduled, Containers: []corev1.Container{{Name: "main", Image: "registry.example/app:1.0"}}},
	}
}

// unscheduled is a schedulerName no scheduler answers to.
const unscheduled = "clusterkit-conformance-unscheduled"

// deployment is a minimal valid Deployment.
func deployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.example/app:1.0"}}},
			},
		},
	}
}

// expectNoPod asserts that nothing was stored under name.
func expectNoPod(ctx context.Context, g gomega.Gomega, e *apiEnv, name string) {
	_, err := e.client.CoreV1().Pods(e.ns).Get(ctx, name, metav1.GetOptions{})
	g.ExpectWithOffset(1, apierrors.IsNotFound(err)).To(gomega.BeTrue(), "a rejected Pod %s must not be stored (Get returned %v)", name, err)
}

func createInvalidPod(ctx context.Context, g gomega.Gomega, e *apiEnv, p *corev1.Pod, paths ...string) {
	_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
	expectInvalid(g, err, "creating Pod "+p.Name, paths...)
	expectNoPod(ctx, g, e, p.Name)
}

func specPodRequiresContainers(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	p := pod("no-containers")
	p.Spec.Containers = nil
	createInvalidPod(ctx, g, e, p, "spec.containers")
}

func specContainerImage(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	p := pod("no-image")
	p.Spec.Containers[0].Image = ""
	createInvalidPod(ctx, g, e, p, "spec.containers[0].image")
}

func specObjectName(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	createInvalidPod(ctx, g, e, pod("Not_A_Name"), "metadata.name")
	_, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "-leading-dash"}}, metav1.CreateOptions{})
	expectInvalid(g, err, "creating ConfigMap -leading-dash", "metadata.name")
}

func specLabels(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	p := pod("bad-label-key")
	p.Labels = map[string]string{"bad key!": "x"}
	createInvalidPod(ctx, g, e, p, "metadata.labels")
	p = pod("bad-label-value")
	p.Labels = map[string]string{"app": "has spaces"}
	createInvalidPod(ctx, g, e, p, "metadata.labels")
}

func specRestartPolicy(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	p := pod("bad-restart")
	p.Spec.RestartPolicy = "Sometimes"
	createInvalidPod(ctx, g, e, p, "spec.restartPolicy")
}

func specContainerPort(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	p := pod("bad-port")
	p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 70000}}
	createInvalidPod(ctx, g, e, p, "spec.containers[0].ports[0].containerPort")
}

func specResourceLimits(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	p := pod("request-over-limit")
	p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
	}
	_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
	expectInvalidUnder(g, err, "creating Pod "+p.Name, "spec.containers[0].resources.requests")
	expectNoPod(ctx, g, e, p.Name)
}

func specEveryError(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	p := pod("two-errors")
	p.Spec.RestartPolicy = "Sometimes"
	p.Spec.Containers[0].Image = ""
	createInvalidPod(ctx, g, e, p, "spec.restartPolicy", "spec.containers[0].image")
}

func specSelectorMatchesTemplate(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	d := deployment("mismatch")
	d.Spec.Template.Labels = map[string]string{"app": "other"}
	_, err := e.client.AppsV1().Deployments(e.ns).Create(ctx, d, metav1.CreateOptions{})
	expectInvalid(g, err, "creating a Deployment whose template does not match its selector", "spec.template.metadata.labels")
	_, err = e.client.AppsV1().Deployments(e.ns).Get(ctx, d.Name, metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the rejected Deployment must not be stored (Get returned %v)", err)
}

func specImmutablePodSpec(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	created, err := e.client.CoreV1().Pods(e.ns).Create(ctx, pod("immutable"), metav1.CreateOptions{})
	ok(g, err, "creating the Pod")
	changed := created.DeepCopy()
	changed.Spec.Containers[0].Command = []string{"/bin/other"}
	_, err = e.client.CoreV1().Pods(e.ns).Update(ctx, changed, metav1.UpdateOptions{})
	expectInvalid(g, err, "changing a container's command")
	got, err := e.client.CoreV1().Pods(e.ns).Get(ctx, created.Name, metav1.GetOptions{})
	ok(g, err, "reading the Pod")
	g.Expect(got.Spec.Containers[0].Command).To(gomega.BeEmpty(), "a rejected update must change nothing")
	got.Spec.Containers[0].Image = "registry.example/app:2.0"
	updated, err := e.client.CoreV1().Pods(e.ns).Update(ctx, got, metav1.UpdateOptions{})
	ok(g, err, "changing a container's image is allowed")
	g.Expect(updated.Spec.Containers[0].Image).To(gomega.Equal("registry.example/app:2.0"))
}

func specImmutableSelector(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	labels := map[string]string{"app": "rs"}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "rs"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "rs", "tier": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "registry.example/app:1.0"}}},
			},
		},
	}
	rss := e.client.AppsV1().ReplicaSets(e.ns)
	_, err := rss.Create(ctx, rs, metav1.CreateOptions{})
	ok(g, err, "creating the ReplicaSet")
	_, err = updateRetrying(func() (*appsv1.ReplicaSet, error) { return rss.Get(ctx, "rs", metav1.GetOptions{}) },
		func(cur *appsv1.ReplicaSet) {
			cur.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "rs", "tier": "web"}}
		},
		func(cur *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
			return rss.Update(ctx, cur, metav1.UpdateOptions{})
		})
	expectInvalid(g, err, "changing a ReplicaSet's selector", "spec.selector")
}

func specStrictFields(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	body := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"strict"},"data":{"a":"b"},"notAField":1}`)
	res := e.client.CoreV1().RESTClient().Post().Namespace(e.ns).Resource("configmaps").
		Param("fieldValidation", "Strict").SetHeader("Content-Type", "application/json").Body(body).Do(ctx)
	err := res.Error()
	g.Expect(err).To(gomega.HaveOccurred(), "an unknown field with fieldValidation=Strict must be rejected")
	g.Expect(apierrors.IsBadRequest(err)).To(gomega.BeTrue(), "expected 400 BadRequest, got %v", err)
	g.Expect(err.Error()).To(gomega.ContainSubstring("notAField"), "the error must name the unknown field")
	_, err = e.client.CoreV1().ConfigMaps(e.ns).Get(ctx, "strict", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "the rejected ConfigMap must not be stored (Get returned %v)", err)
}

func specPodDefaults(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	p := pod("defaults")
	p.Spec.SchedulerName = ""
	p.Spec.Containers = []corev1.Container{
		{Name: "latest", Image: "registry.example/app:latest"},
		{Name: "untagged", Image: "registry.example/app"},
		{Name: "tagged", Image: "registry.example/app:1.0"},
	}
	got, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
	ok(g, err, "creating the Pod")
	g.Expect(got.Spec.RestartPolicy).To(gomega.Equal(corev1.RestartPolicyAlways), "restartPolicy")
	g.Expect(got.Spec.TerminationGracePeriodSeconds).To(gomega.Equal(ptr.To[int64](30)), "terminationGracePeriodSeconds")
	g.Expect(got.Spec.DNSPolicy).To(gomega.Equal(corev1.DNSClusterFirst), "dnsPolicy")
	g.Expect(got.Spec.SchedulerName).To(gomega.Equal(corev1.DefaultSchedulerName), "schedulerName")
	g.Expect(got.Spec.Containers[0].ImagePullPolicy).To(gomega.Equal(corev1.PullAlways), ":latest")
	g.Expect(got.Spec.Containers[1].ImagePullPolicy).To(gomega.Equal(corev1.PullAlways), "no tag")
	g.Expect(got.Spec.Containers[2].ImagePullPolicy).To(gomega.Equal(corev1.PullIfNotPresent), "a fixed tag")
	g.Expect(got.Spec.Containers[0].TerminationMessagePath).To(gomega.Equal("/dev/termination-log"))
}

func specDeploymentDefaults(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	got, err := e.client.AppsV1().Deployments(e.ns).Create(ctx, deployment("defaults"), metav1.CreateOptions{})
	ok(g, err, "creating the Deployment")
	g.Expect(got.Spec.Replicas).To(gomega.Equal(ptr.To[int32](1)), "replicas")
	g.Expect(got.Spec.Strategy.Type).To(gomega.Equal(appsv1.RollingUpdateDeploymentStrategyType), "strategy")
	g.Expect(got.Spec.Strategy.RollingUpdate).NotTo(gomega.BeNil(), "rollingUpdate parameters")
	quarter := intstr.FromString("25%")
	g.Expect(got.Spec.Strategy.RollingUpdate.MaxSurge).To(gomega.Equal(&quarter), "maxSurge")
	g.Expect(got.Spec.Strategy.RollingUpdate.MaxUnavailable).To(gomega.Equal(&quarter), "maxUnavailable")
	g.Expect(got.Spec.RevisionHistoryLimit).To(gomega.Equal(ptr.To[int32](10)), "revisionHistoryLimit")
	g.Expect(got.Spec.ProgressDeadlineSeconds).To(gomega.Equal(ptr.To[int32](600)), "progressDeadlineSeconds")
	g.Expect(got.Spec.Template.Spec.RestartPolicy).To(gomega.Equal(corev1.RestartPolicyAlways), "the template's pod defaults")
}

func specServerFields(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	got, err := e.client.AppsV1().Deployments(e.ns).Create(ctx, deployment("meta"), metav1.CreateOptions{})
	ok(g, err, "creating the Deployment")
	g.Expect(got.UID).NotTo(gomega.BeEmpty(), "uid")
	g.Expect(got.CreationTimestamp.IsZero()).To(gomega.BeFalse(), "creationTimestamp")
	g.Expect(got.ResourceVersion).NotTo(gomega.BeEmpty(), "resourceVersion")
	g.Expect(got.Generation).To(gomega.Equal(int64(1)), "generation")
	again, err := e.client.AppsV1().Deployments(e.ns).Get(ctx, "meta", metav1.GetOptions{})
	ok(g, err, "reading it back")
	g.Expect(again.UID).To(gomega.Equal(got.UID))
	// A Deployment's status is written by the cluster's controllers; a ConfigMap nothing else
	// writes shows that reading leaves the resourceVersion as it was.
	cm, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "meta"}}, metav1.CreateOptions{})
	ok(g, err, "creating a ConfigMap")
	cmAgain, err := e.client.CoreV1().ConfigMaps(e.ns).Get(ctx, "meta", metav1.GetOptions{})
	ok(g, err, "reading the ConfigMap back")
	g.Expect(cmAgain.ResourceVersion).To(gomega.Equal(cm.ResourceVersion), "resourceVersion of an unchanged object")
}

func specGeneration(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	deps := e.client.AppsV1().Deployments(e.ns)
	_, err := deps.Create(ctx, deployment("gen"), metav1.CreateOptions{})
	ok(g, err, "creating the Deployment")
	get := func() (*appsv1.Deployment, error) { return deps.Get(ctx, "gen", metav1.GetOptions{}) }
	update := func(d *appsv1.Deployment) (*appsv1.Deployment, error) {
		return deps.Update(ctx, d, metav1.UpdateOptions{})
	}
	d, err := updateRetrying(get, func(d *appsv1.Deployment) { d.Labels = map[string]string{"touched": "yes"} }, update)
	ok(g, err, "changing labels")
	g.Expect(d.Generation).To(gomega.Equal(int64(1)), "a label change must not bump the generation")
	d, err = updateRetrying(get, func(d *appsv1.Deployment) { d.Status.ObservedGeneration = 1 },
		func(d *appsv1.Deployment) (*appsv1.Deployment, error) {
			return deps.UpdateStatus(ctx, d, metav1.UpdateOptions{})
		})
	ok(g, err, "changing status")
	g.Expect(d.Generation).To(gomega.Equal(int64(1)), "a status change must not bump the generation")
	d, err = updateRetrying(get, func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](3) }, update)
	ok(g, err, "changing the spec")
	g.Expect(d.Generation).To(gomega.Equal(int64(2)), "a spec change must bump the generation")
}

func specGenerationUntracked(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	evs := e.client.CoreV1().Events(e.ns)
	ev, err := evs.Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "untracked"},
		InvolvedObject: corev1.ObjectReference{Kind: "ConfigMap", APIVersion: "v1", Namespace: e.ns, Name: "x"},
		Reason:         "Tested", Message: "first", Type: corev1.EventTypeNormal, Count: 1,
	}, metav1.CreateOptions{})
	ok(g, err, "creating an Event")
	before := ev.Generation
	ev.Message, ev.Count = "second", 2
	ev, err = evs.Update(ctx, ev, metav1.UpdateOptions{})
	ok(g, err, "updating the Event's message and count")
	g.Expect(ev.Generation).To(gomega.Equal(before), "the Event's generation after an update")
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "untracked"}, Data: map[string]string{"k": "1"}}, metav1.CreateOptions{})
	ok(g, err, "creating a ConfigMap")
	before = cm.Generation
	cm.Data["k"] = "2"
	cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	ok(g, err, "updating the ConfigMap's data")
	g.Expect(cm.Generation).To(gomega.Equal(before), "the ConfigMap's generation after a data update")
}

func specGenerateName(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	names := map[string]bool{}
	for range 5 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "gen-"}}
		got, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, cm, metav1.CreateOptions{})
		ok(g, err, "creating with generateName")
		g.Expect(got.Name).To(gomega.HavePrefix("gen-"))
		g.Expect(len(got.Name)).To(gomega.BeNumerically(">", len("gen-")), "a suffix must be generated")
		g.Expect(names).NotTo(gomega.HaveKey(got.Name), "generated names must be unique")
		names[got.Name] = true
	}
}

func specAlreadyExists(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	first := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "taken"}, Data: map[string]string{"v": "1"}}
	_, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, first, metav1.CreateOptions{})
	ok(g, err, "first create")
	second := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "taken"}, Data: map[string]string{"v": "2"}}
	_, err = e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, second, metav1.CreateOptions{})
	g.Expect(apierrors.IsAlreadyExists(err)).To(gomega.BeTrue(), "expected 409 AlreadyExists, got %v", err)
	got, err := e.client.CoreV1().ConfigMaps(e.ns).Get(ctx, "taken", metav1.GetOptions{})
	ok(g, err, "reading it")
	g.Expect(got.Data).To(gomega.Equal(map[string]string{"v": "1"}))
}

func specNotFound(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	_, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "missing", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "expected 404 NotFound, got %v", err)
	_, err = e.client.AppsV1().Deployments(e.ns).Get(ctx, "missing", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "expected 404 NotFound, got %v", err)
	err = e.client.CoreV1().ConfigMaps(e.ns).Delete(ctx, "missing", metav1.DeleteOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "delete: expected 404 NotFound, got %v", err)
}

func specNamespaceMustExist(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	_, err := e.client.CoreV1().ConfigMaps(e.ns+"-absent").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "expected 404 NotFound for a missing namespace, got %v", err)
}

func specStaleUpdate(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	created, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cas"}, Data: map[string]string{"v": "1"}}, metav1.CreateOptions{})
	ok(g, err, "create")
	fresh := created.DeepCopy()
	fresh.Data["v"] = "2"
	_, err = e.client.CoreV1().ConfigMaps(e.ns).Update(ctx, fresh, metav1.UpdateOptions{})
	ok(g, err, "update with the current resourceVersion")
	stale := created.DeepCopy()
	stale.Data["v"] = "lost"
	_, err = e.client.CoreV1().ConfigMaps(e.ns).Update(ctx, stale, metav1.UpdateOptions{})
	g.Expect(apierrors.IsConflict(err)).To(gomega.BeTrue(), "an update with a stale resourceVersion: expected 409 Conflict, got %v", err)
	got, err := e.client.CoreV1().ConfigMaps(e.ns).Get(ctx, "cas", metav1.GetOptions{})
	ok(g, err, "get")
	g.Expect(got.Data["v"]).To(gomega.Equal("2"), "a conflicting update must change nothing")
}

func specConcurrentUpdates(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	_, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "counter"}, Data: map[string]string{}}, metav1.CreateOptions{})
	ok(g, err, "create")
	const writers, each = 5, 6
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				err := retry.RetryOnConflict(conflictBackoff(), func() error {
					cm, err := e.client.CoreV1().ConfigMaps(e.ns).Get(ctx, "counter", metav1.GetOptions{})
					if err != nil {
						return err
					}
					if cm.Data == nil {
						cm.Data = map[string]string{}
					}
					cm.Data[fmt.Sprintf("w%d-%d", w, i)] = "x"
					_, err = e.client.CoreV1().ConfigMaps(e.ns).Update(ctx, cm, metav1.UpdateOptions{})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		ok(g, err, "a writer failed")
	}
	cm, err := e.client.CoreV1().ConfigMaps(e.ns).Get(ctx, "counter", metav1.GetOptions{})
	ok(g, err, "get")
	g.Expect(cm.Data).To(gomega.HaveLen(writers*each), "every acknowledged update must be kept")
}

func specLabelSelector(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	for i, tier := range []string{"web", "web", "db", ""} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-" + strconv.Itoa(i), Labels: map[string]string{}}}
		if tier != "" {
			cm.Labels["tier"] = tier
		}
		_, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, cm, metav1.CreateOptions{})
		ok(g, err, "create")
	}
	names := func(selector string) []string {
		list, err := e.client.CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		ok(g, err, "list "+selector)
		var out []string
		for _, cm := range list.Items {
			if cm.Name != "kube-root-ca.crt" {
				out = append(out, cm.Name)
			}
		}
		return out
	}
	g.Expect(names("tier=web")).To(gomega.ConsistOf("cm-0", "cm-1"), "tier=web")
	g.Expect(names("tier!=web,tier")).To(gomega.ConsistOf("cm-2"), "tier!=web,tier")
	g.Expect(names("tier in (web,db)")).To(gomega.ConsistOf("cm-0", "cm-1", "cm-2"), "tier in (web,db)")
	g.Expect(names("!tier")).To(gomega.ConsistOf("cm-3"), "!tier")
}

func specFieldSelector(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	for _, name := range []string{"on-a", "on-b", "unbound"} {
		_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, pod(name), metav1.CreateOptions{})
		ok(g, err, "create "+name)
	}
	for name, node := range map[string]string{"on-a": "node-a", "on-b": "node-b"} {
		err := e.client.CoreV1().Pods(e.ns).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{})
		ok(g, err, "bind "+name)
	}
	p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "on-b", metav1.GetOptions{})
	ok(g, err, "get on-b")
	p.Status.Phase = corev1.PodSucceeded
	_, err = e.client.CoreV1().Pods(e.ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	ok(g, err, "status of on-b")
	names := func(selector string) []string {
		list, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{FieldSelector: selector})
		ok(g, err, "list "+selector)
		var out []string
		for _, p := range list.Items {
			out = append(out, p.Name)
		}
		return out
	}
	g.Expect(names("spec.nodeName=node-a")).To(gomega.ConsistOf("on-a"))
	g.Expect(names("spec.nodeName=")).To(gomega.ConsistOf("unbound"))
	g.Expect(names("status.phase!=Succeeded,status.phase!=Failed")).To(gomega.ConsistOf("on-a", "unbound"))
	g.Expect(names(fields.OneTermEqualSelector("metadata.name", "on-b").String())).To(gomega.ConsistOf("on-b"))
}

func specAPIPagination(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	want := map[string]bool{}
	for i := range 12 {
		name := fmt.Sprintf("page-%02d", i)
		_, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"set": "paged"}}}, metav1.CreateOptions{})
		ok(g, err, "create")
		want[name] = true
	}
	got := map[string]bool{}
	opts := metav1.ListOptions{Limit: 5, LabelSelector: "set=paged"}
	pages := 0
	for {
		list, err := e.client.CoreV1().ConfigMaps(e.ns).List(ctx, opts)
		ok(g, err, "list page")
		pages++
		g.Expect(len(list.Items)).To(gomega.BeNumerically("<=", 5), "a page must hold at most limit items")
		for _, cm := range list.Items {
			g.Expect(got).NotTo(gomega.HaveKey(cm.Name), "%s on two pages", cm.Name)
			got[cm.Name] = true
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
		g.Expect(pages).To(gomega.BeNumerically("<", 20), "pagination must end")
	}
	g.Expect(got).To(gomega.Equal(want))
	g.Expect(pages).To(gomega.BeNumerically(">=", 3), "12 objects with limit 5 must take at least 3 pages")
}

// nextEvent reads one event, failing after the timeout.
func nextEvent(g gomega.Gomega, w watch.Interface, timeout time.Duration) watch.Event {
	select {
	case ev, open := <-w.ResultChan():
		g.ExpectWithOffset(1, open).To(gomega.BeTrue(), "the watch closed early")
		return ev
	case <-time.After(timeout):
		g.ExpectWithOffset(1, fmt.Errorf("no event within %s", timeout)).NotTo(gomega.HaveOccurred())
	}
	return watch.Event{}
}

func specWatchFromRV(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	// The spec's own objects carry a label and the list and watch select it: a live
	// cluster's controllers write into the namespace too (kube-root-ca.crt).
	labels := map[string]string{"spec": "watch-from-rv"}
	only := metav1.ListOptions{LabelSelector: "spec=watch-from-rv"}
	_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "before", Labels: labels}}, metav1.CreateOptions{})
	ok(g, err, "create before")
	list, err := cms.List(ctx, only)
	ok(g, err, "list")
	// Changes after the list, before the watch starts: the watch must replay them.
	a, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: labels}, Data: map[string]string{"v": "1"}}, metav1.CreateOptions{})
	ok(g, err, "create a")
	a.Data["v"] = "2"
	_, err = cms.Update(ctx, a, metav1.UpdateOptions{})
	ok(g, err, "update a")
	only.ResourceVersion = list.ResourceVersion
	w, err := cms.Watch(ctx, only)
	ok(g, err, "watch from the list's resourceVersion")
	defer w.Stop()
	ok(g, cms.Delete(ctx, "before", metav1.DeleteOptions{}), "delete before")
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b", Labels: labels}}, metav1.CreateOptions{})
	ok(g, err, "create b")
	type seen struct {
		Type watch.EventType
		Name string
		V    string
	}
	want := []seen{{watch.Added, "a", "1"}, {watch.Modified, "a", "2"}, {watch.Deleted, "before", ""}, {watch.Added, "b", ""}}
	var last uint64
	for i, w0 := range want {
		ev := nextEvent(g, w, 10*time.Second)
		cm, isCM := ev.Object.(*corev1.ConfigMap)
		g.Expect(isCM).To(gomega.BeTrue(), "event %d: a ConfigMap, got %T %v", i, ev.Object, ev.Object)
		g.Expect(seen{ev.Type, cm.Name, cm.Data["v"]}).To(gomega.Equal(w0), "event %d", i)
		rv, err := strconv.ParseUint(cm.ResourceVersion, 10, 64)
		if err == nil { // resourceVersions are opaque; when numeric, they increase
			g.Expect(rv).To(gomega.BeNumerically(">", last), "resourceVersions must increase along the watch")
			last = rv
		}
	}
}

func specInformer(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	for _, n := range []string{"one", "two"} {
		_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"informed": "yes"}}}, metav1.CreateOptions{})
		ok(g, err, "create "+n)
	}
	factory := informers.NewSharedInformerFactoryWithOptions(e.client, 0, informers.WithNamespace(e.ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = "informed=yes" }))
	inf := factory.Core().V1().ConfigMaps().Informer()
	var mu sync.Mutex
	var log []string
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			mu.Lock()
			defer mu.Unlock()
			log = append(log, "add "+obj.(*corev1.ConfigMap).Name)
		},
		UpdateFunc: func(_, obj any) {
			mu.Lock()
			defer mu.Unlock()
			log = append(log, "update "+obj.(*corev1.ConfigMap).Name+" "+obj.(*corev1.ConfigMap).Data["v"])
		},
		DeleteFunc: func(obj any) {
			mu.Lock()
			defer mu.Unlock()
			if d, isTombstone := obj.(cache.DeletedFinalStateUnknown); isTombstone {
				obj = d.Obj
			}
			log = append(log, "delete "+obj.(*corev1.ConfigMap).Name)
		},
	})
	ok(g, err, "adding the handler")
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	g.Expect(cache.WaitForCacheSync(ctx.Done(), inf.HasSynced)).To(gomega.BeTrue(), "the informer must sync")
	g.Expect(inf.GetStore().ListKeys()).To(gomega.ConsistOf(e.ns+"/one", e.ns+"/two"), "the synced cache")
	one, err := cms.Get(ctx, "one", metav1.GetOptions{})
	ok(g, err, "get one")
	one.Data = map[string]string{"v": "changed"}
	_, err = cms.Update(ctx, one, metav1.UpdateOptions{})
	ok(g, err, "update one")
	ok(g, cms.Delete(ctx, "two", metav1.DeleteOptions{}), "delete two")
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "three", Labels: map[string]string{"informed": "yes"}}}, metav1.CreateOptions{})
	ok(g, err, "create three")
	g.Eventually(func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), log...)
	}).WithTimeout(15*time.Second).Should(gomega.ConsistOf("add one", "add two", "update one changed", "delete two", "add three"),
		"the informer's handler calls")
	g.Eventually(inf.GetStore().ListKeys).WithTimeout(5 * time.Second).Should(gomega.ConsistOf(e.ns+"/one", e.ns+"/three"))
}

func specAPIWatchExpired(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "old"}, Data: map[string]string{"v": "0"}}, metav1.CreateOptions{})
	ok(g, err, "create")
	oldRV := cm.ResourceVersion
	for i := range 3 {
		cm.Data["v"] = strconv.Itoa(i + 1)
		cm, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		ok(g, err, "update")
	}
	ok(g, e.server.Compact(ctx), "compacting the storage")
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: oldRV})
	if err != nil {
		g.Expect(apierrors.IsResourceExpired(err) || apierrors.IsGone(err)).To(gomega.BeTrue(), "expected 410 Gone, got %v", err)
		return
	}
	defer w.Stop()
	ev := nextEvent(g, w, 10*time.Second)
	g.Expect(ev.Type).To(gomega.Equal(watch.Error), "a watch from a compacted resourceVersion must end with an ERROR event, got %s", ev.Type)
	status, isStatus := ev.Object.(*metav1.Status)
	g.Expect(isStatus).To(gomega.BeTrue(), "the ERROR event must carry a Status, got %T", ev.Object)
	g.Expect(status.Code).To(gomega.Equal(int32(410)), "the Status code")
}

func specStatusIsolation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	deps := e.client.AppsV1().Deployments(e.ns)
	_, err := deps.Create(ctx, deployment("iso"), metav1.CreateOptions{})
	ok(g, err, "create")
	get := func() (*appsv1.Deployment, error) { return deps.Get(ctx, "iso", metav1.GetOptions{}) }
	d, err := updateRetrying(get, func(d *appsv1.Deployment) {
		d.Status.Replicas = 7
		d.Spec.Replicas = ptr.To[int32](5)
	}, func(d *appsv1.Deployment) (*appsv1.Deployment, error) {
		return deps.UpdateStatus(ctx, d, metav1.UpdateOptions{})
	})
	ok(g, err, "update status")
	g.Expect(d.Status.Replicas).To(gomega.Equal(int32(7)), "the status write must change status")
	g.Expect(*d.Spec.Replicas).To(gomega.Equal(int32(1)), "a status write must not change the spec")
	// The status the main write must keep is what is stored when it lands: 7, unless the
	// cluster's Deployment controller has written its own since.
	var stored int32
	d, err = updateRetrying(get, func(d *appsv1.Deployment) {
		stored = d.Status.Replicas
		d.Status.Replicas = 99
		d.Spec.Replicas = ptr.To[int32](2)
	}, func(d *appsv1.Deployment) (*appsv1.Deployment, error) {
		return deps.Update(ctx, d, metav1.UpdateOptions{})
	})
	ok(g, err, "update")
	g.Expect(*d.Spec.Replicas).To(gomega.Equal(int32(2)), "the main write must change the spec")
	g.Expect(d.Status.Replicas).To(gomega.Equal(stored), "a main-resource write must not change status")
}

func specScale(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	deps := e.client.AppsV1().Deployments(e.ns)
	d, err := deps.Create(ctx, deployment("scaled"), metav1.CreateOptions{})
	ok(g, err, "create")
	// On a live cluster the Deployment controller writes the status meanwhile: re-read on
	// conflict, as any client of the scale subresource does.
	_, err = updateRetrying(func() (*autoscalingv1.Scale, error) { return deps.GetScale(ctx, "scaled", metav1.GetOptions{}) },
		func(sc *autoscalingv1.Scale) {
			g.Expect(sc.Spec.Replicas).To(gomega.Equal(int32(1)), "scale.spec.replicas")
			sc.Spec.Replicas = 4
		},
		func(sc *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
			return deps.UpdateScale(ctx, "scaled", sc, metav1.UpdateOptions{})
		})
	ok(g, err, "update scale")
	got, err := deps.Get(ctx, "scaled", metav1.GetOptions{})
	ok(g, err, "get")
	g.Expect(*got.Spec.Replicas).To(gomega.Equal(int32(4)), "replicas after scaling")
	g.Expect(got.Spec.Template).To(gomega.Equal(d.Spec.Template), "scaling must not touch the template")
	_, err = deps.Patch(ctx, "scaled", types.MergePatchType, []byte(`{"spec":{"replicas":2}}`), metav1.PatchOptions{}, "scale")
	ok(g, err, "patch scale (as kubectl scale does)")
	got, err = deps.Get(ctx, "scaled", metav1.GetOptions{})
	ok(g, err, "get")
	g.Expect(*got.Spec.Replicas).To(gomega.Equal(int32(2)), "replicas after the scale patch")
}

func specBinding(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pods := e.client.CoreV1().Pods(e.ns)
	_, err := pods.Create(ctx, pod("bind-me"), metav1.CreateOptions{})
	ok(g, err, "create")
	bind := func(node string) error {
		return pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "bind-me"}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{})
	}
	ok(g, bind("node-1"), "first binding")
	got, err := pods.Get(ctx, "bind-me", metav1.GetOptions{})
	ok(g, err, "get")
	g.Expect(got.Spec.NodeName).To(gomega.Equal("node-1"))
	err = bind("node-2")
	g.Expect(apierrors.IsConflict(err)).To(gomega.BeTrue(), "a second binding: expected 409 Conflict, got %v", err)
	got, err = pods.Get(ctx, "bind-me", metav1.GetOptions{})
	ok(g, err, "get")
	g.Expect(got.Spec.NodeName).To(gomega.Equal("node-1"), "a refused binding must not move the Pod")
}

func specFinalizers(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{})
	ok(g, err, "create")
	ok(g, cms.Delete(ctx, "held", metav1.DeleteOptions{}), "delete")
	got, err := cms.Get(ctx, "held", metav1.GetOptions{})
	ok(g, err, "an object with finalizers must still exist after delete")
	g.Expect(got.DeletionTimestamp).NotTo(gomega.BeNil(), "deletionTimestamp")
	got.Finalizers = nil
	_, err = cms.Update(ctx, got, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		ok(g, err, "removing the finalizer")
	}
	g.Eventually(func() bool {
		_, err := cms.Get(ctx, "held", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(10*time.Second).Should(gomega.BeTrue(), "the object must go once its finalizers are removed")
}

func specGracefulDeletion(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pods := e.client.CoreV1().Pods(e.ns)
	boundPod(ctx, g, pods, "graceful")
	ok(g, pods.Delete(ctx, "graceful", metav1.DeleteOptions{}), "graceful delete")
	got, err := pods.Get(ctx, "graceful", metav1.GetOptions{})
	ok(g, err, "a bound Pod must still exist while its grace period runs")
	g.Expect(got.DeletionTimestamp).NotTo(gomega.BeNil(), "deletionTimestamp")
	g.Expect(got.DeletionGracePeriodSeconds).To(gomega.Equal(ptr.To[int64](30)), "deletionGracePeriodSeconds (the Pod's terminationGracePeriodSeconds)")
	ok(g, pods.Delete(ctx, "graceful", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}), "delete with grace 0 (as the kubelet does)")
	g.Eventually(func() bool {
		_, err := pods.Get(ctx, "graceful", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(10*time.Second).Should(gomega.BeTrue(), "the Pod must be gone after a delete with grace 0")
}

// conflictBackoff is the retry budget of specs whose clients race each other
// on purpose: enough retries that only a lost update, not contention on a
// loaded machine, can fail the spec. A constant, jittered interval: with a
// Cap, wait.Backoff ends its steps as soon as the interval reaches the cap,
// which left about ten attempts, not 200 (the spec api.update.concurrent-writers
// failed on a loaded lab when one writer lost ten races in a row).
func conflictBackoff() wait.Backoff {
	return wait.Backoff{Steps: 200, Duration: 20 * time.Millisecond, Factor: 1, Jitter: 1}
}

// updateRetrying reads an object with get, changes it with mutate and writes it with update,
// reading and changing it again while the write conflicts: on a live cluster the controllers
// write the same objects (their status) meanwhile, which every client must expect. It returns
// the last write's result.
func updateRetrying[T any](get func() (T, error), mutate func(T), update func(T) (T, error)) (T, error) {
	var out T
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur, err := get()
		if err != nil {
			return err
		}
		mutate(cur)
		out, err = update(cur)
		return err
	})
	return out, err
}
