package conformance

import (
	"context"
	"strings"
	"time"

	"github.com/onsi/gomega"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

// Sources of the PodTemplate, ReplicationController, LimitRange and ResourceQuota behaviours.
const (
	srcCoreValidation = "Kubernetes core/v1 API validation (pkg/apis/core/validation: ValidatePodTemplate, ValidateReplicationController, ValidateLimitRange, ValidateResourceQuota)"
	srcRC             = "Kubernetes: ReplicationController (kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller)"
	srcLimitRange     = "Kubernetes: Limit Ranges (kubernetes.io/docs/concepts/policy/limit-range)"
	srcQuota          = "Kubernetes: Resource Quotas (kubernetes.io/docs/concepts/policy/resource-quotas)"
	// policyTimeout bounds the waits for the quota and replication controllers.
	policyTimeout = 30 * time.Second
)

// apiPolicySpecs are the API specs of PodTemplates, ReplicationControllers, LimitRanges and
// ResourceQuotas: served like every cluster serves them, with their admission plugins and
// controllers.
func apiPolicySpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.podtemplate.crud", "PodTemplates MUST be served as namespaced core/v1 resources: a created PodTemplate MUST get the pod defaults in its template, and MUST be readable, listable, updatable and deletable", srcCoreValidation), specPodTemplateCRUD},
		{api("api.podtemplate.validation", "a PodTemplate whose container has no image MUST be rejected with 422 naming template.spec.containers[0].image, and store nothing", srcCoreValidation), specPodTemplateValidation},
		{api("api.replicationcontroller.defaults", "a ReplicationController created with only template labels MUST get them as its selector and labels, and 1 replica", srcDefaults), specRCDefaults},
		{api("api.replicationcontroller.validation", "a ReplicationController whose selector does not match its template labels and whose template restartPolicy is not Always MUST be rejected with 422 naming spec.template.metadata.labels and spec.template.spec.restartPolicy", srcCoreValidation), specRCValidation},
		{api("api.replicationcontroller.replicas", "a ReplicationController MUST keep as many pods it controls as spec.replicas, replacing a deleted one, and report them in status.replicas", srcRC), specRCReplicas},
		{api("api.replicationcontroller.scale", "the scale subresource of a ReplicationController MUST read and change spec.replicas, and the pods MUST follow", srcRC), specRCScale},
		{api("api.limitrange.validation", "a LimitRange whose min is above its max MUST be rejected with 422 naming spec.limits[0].min[cpu]", srcCoreValidation), specLimitRangeValidation},
		{api("api.limitrange.defaults", "a Pod created without resources in a namespace with a Container LimitRange MUST get the LimitRange's default requests and limits", srcLimitRange), specLimitRangeDefaults},
		{api("api.limitrange.max", "a Pod whose container limit is above a Container LimitRange's max MUST be rejected with 403 Forbidden saying \"maximum cpu usage per Container is <max>, but limit is <limit>\", and store nothing", srcLimitRange), specLimitRangeMax},
		{api("api.resourcequota.validation", "a ResourceQuota with a negative or fractional count or an unknown resource name MUST be rejected with 422 naming spec.hard[<resource>]", srcCoreValidation), specQuotaValidation},
		{api("api.resourcequota.status-used", "a ResourceQuota's status.hard MUST come to equal its spec.hard and its status.used MUST count the pods, services and (through count/deployments.apps) Deployments created in its namespace", srcQuota), specQuotaUsed},
		{api("api.resourcequota.extended-resource", "a ResourceQuota on requests.<extended resource> MUST count in status.used what the namespace's pods request of it, and a pod that would take it over MUST be rejected with 403 \"exceeded quota\"", srcQuota), specQuotaExtended},
		{api("api.resourcequota.exceeded", "a create that would take a ResourceQuota's usage over its hard limit MUST be rejected with 403 Forbidden saying \"exceeded quota: <name>\", and store nothing", srcQuota), specQuotaExceeded},
		{api("api.resourcequota.freed", "deleting an object MUST free its quota: status.used goes down (also for count/<resource>.<group>) and a create the quota refused before MUST then succeed", srcQuota), specQuotaFreed},
	}
}

func podTemplate(name string) *corev1.PodTemplate {
	return &corev1.PodTemplate{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
			Spec:       corev1.PodSpec{SchedulerName: unscheduled, Containers: []corev1.Container{{Name: "main", Image: "registry.example/app:1.0"}}},
		},
	}
}

func specPodTemplateCRUD(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pts := e.client.CoreV1().PodTemplates(e.ns)
	created, err := pts.Create(ctx, podTemplate("tmpl"), metav1.CreateOptions{})
	ok(g, err, "creating a PodTemplate")
	spec := created.Template.Spec
	g.Expect(spec.RestartPolicy).To(gomega.Equal(corev1.RestartPolicyAlways), "template.spec.restartPolicy default")
	g.Expect(spec.DNSPolicy).To(gomega.Equal(corev1.DNSClusterFirst), "template.spec.dnsPolicy default")
	g.Expect(spec.TerminationGracePeriodSeconds).To(gomega.Equal(ptr.To(int64(30))), "template.spec.terminationGracePeriodSeconds default")
	got, err := pts.Get(ctx, "tmpl", metav1.GetOptions{})
	ok(g, err, "reading the PodTemplate")
	g.Expect(got.Template.Spec.Containers).To(gomega.HaveLen(1))
	list, err := pts.List(ctx, metav1.ListOptions{})
	ok(g, err, "listing PodTemplates")
	var names []string
	for _, p := range list.Items {
		names = append(names, p.Name)
	}
	g.Expect(names).To(gomega.ContainElement("tmpl"), "the list")
	got.Template.Spec.Containers[0].Image = "registry.example/app:2.0"
	updated, err := pts.Update(ctx, got, metav1.UpdateOptions{})
	ok(g, err, "updating the PodTemplate's image")
	g.Expect(updated.Template.Spec.Containers[0].Image).To(gomega.Equal("registry.example/app:2.0"))
	ok(g, pts.Delete(ctx, "tmpl", metav1.DeleteOptions{}), "deleting the PodTemplate")
	_, err = pts.Get(ctx, "tmpl", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "a deleted PodTemplate must be gone (got %v)", err)
}

func specPodTemplateValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	bad := podTemplate("noimage")
	bad.Template.Spec.Containers[0].Image = ""
	_, err := e.client.CoreV1().PodTemplates(e.ns).Create(ctx, bad, metav1.CreateOptions{})
	expectInvalid(g, err, "creating a PodTemplate without an image", "template.spec.containers[0].image")
	_, err = e.client.CoreV1().PodTemplates(e.ns).Get(ctx, "noimage", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "a rejected PodTemplate must not be stored (got %v)", err)
}

// replicationController is a valid RC of n unschedulable pods.
func replicationController(name string, n int32) *corev1.ReplicationController {
	labels := map[string]string{"rc": name}
	return &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr.To(n),
			Selector: labels,
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{SchedulerName: unscheduled, Containers: []corev1.Container{{Name: "main", Image: "registry.example/app:1.0"}}},
			},
		},
	}
}

func specRCDefaults(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	rc := replicationController("defaulted", 0)
	rc.Spec.Replicas = nil
	rc.Spec.Selector = nil
	created, err := e.client.CoreV1().ReplicationControllers(e.ns).Create(ctx, rc, metav1.CreateOptions{})
	ok(g, err, "creating a ReplicationController with only template labels")
	want := map[string]string{"rc": "defaulted"}
	g.Expect(created.Spec.Selector).To(gomega.Equal(want), "spec.selector defaults to the template labels")
	g.Expect(created.Labels).To(gomega.Equal(want), "metadata.labels default to the template labels")
	g.Expect(created.Spec.Replicas).To(gomega.Equal(ptr.To(int32(1))), "spec.replicas default")
}

func specRCValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	rc := replicationController("invalid", 1)
	rc.Spec.Selector = map[string]string{"rc": "other"}
	rc.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	_, err := e.client.CoreV1().ReplicationControllers(e.ns).Create(ctx, rc, metav1.CreateOptions{})
	expectInvalid(g, err, "creating an invalid ReplicationController", "spec.template.metadata.labels", "spec.template.spec.restartPolicy")
	_, err = e.client.CoreV1().ReplicationControllers(e.ns).Get(ctx, "invalid", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "a rejected ReplicationController must not be stored (got %v)", err)
}

// rcPods returns the live (not terminating) pods controlled by the RC.
func rcPods(ctx context.Context, e *apiEnv, rc *corev1.ReplicationController) ([]corev1.Pod, error) {
	list, err := e.client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set(rc.Spec.Selector).String()})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == rc.UID && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// eventuallyRCPods waits until the RC controls exactly n live pods and reports
// status.replicas n, and returns the pods.
func eventuallyRCPods(ctx context.Context, g gomega.Gomega, e *apiEnv, rc *corev1.ReplicationController, n int, what string) []corev1.Pod {
	var pods []corev1.Pod
	g.Eventually(func(g gomega.Gomega) {
		var err error
		pods, err = rcPods(ctx, e, rc)
		ok(g, err, "listing pods")
		g.Expect(pods).To(gomega.HaveLen(n), "pods controlled by the ReplicationController")
		cur, err := e.client.CoreV1().ReplicationControllers(e.ns).Get(ctx, rc.Name, metav1.GetOptions{})
		ok(g, err, "reading the ReplicationController")
		g.Expect(cur.Status.Replicas).To(gomega.Equal(int32(n)), "status.replicas")
	}).WithContext(ctx).WithTimeout(policyTimeout).WithPolling(200*time.Millisecond).Should(gomega.Succeed(), what)
	return pods
}

func specRCReplicas(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	rc, err := e.client.CoreV1().ReplicationControllers(e.ns).Create(ctx, replicationController("keeper", 3), metav1.CreateOptions{})
	ok(g, err, "creating a ReplicationController of 3 replicas")
	pods := eventuallyRCPods(ctx, g, e, rc, 3, "the ReplicationController must create 3 pods")
	ok(g, e.client.CoreV1().Pods(e.ns).Delete(ctx, pods[0].Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}), "deleting one of its pods")
	replaced := eventuallyRCPods(ctx, g, e, rc, 3, "the ReplicationController must replace the deleted pod")
	for _, p := range replaced {
		g.Expect(p.Name).NotTo(gomega.Equal(pods[0].Name), "the deleted pod must not be counted")
	}
}

func specRCScale(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	rcs := e.client.CoreV1().ReplicationControllers(e.ns)
	rc, err := rcs.Create(ctx, replicationController("scaled", 2), metav1.CreateOptions{})
	ok(g, err, "creating a ReplicationController of 2 replicas")
	_, err = updateRetrying(func() (*autoscalingv1.Scale, error) { return rcs.GetScale(ctx, "scaled", metav1.GetOptions{}) },
		func(sc *autoscalingv1.Scale) {
			g.Expect(sc.Spec.Replicas).To(gomega.Equal(int32(2)), "scale.spec.replicas")
			sc.Spec.Replicas = 1
		},
		func(sc *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
			return rcs.UpdateScale(ctx, "scaled", sc, metav1.UpdateOptions{})
		})
	ok(g, err, "scaling to 1")
	got, err := rcs.Get(ctx, "scaled", metav1.GetOptions{})
	ok(g, err, "reading the ReplicationController")
	g.Expect(got.Spec.Replicas).To(gomega.Equal(ptr.To(int32(1))), "spec.replicas after scaling")
	eventuallyRCPods(ctx, g, e, rc, 1, "the pods must follow the scale to 1")
}

func specLimitRangeValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	lr := &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "inverted"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer,
			Min:  corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
			Max:  corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
		}}},
	}
	_, err := e.client.CoreV1().LimitRanges(e.ns).Create(ctx, lr, metav1.CreateOptions{})
	expectInvalid(g, err, "creating a LimitRange with min above max", "spec.limits[0].min[cpu]")
}

// containerLimits is a Container LimitRange with max cpu 1 and defaults 500m cpu / 128Mi.
func containerLimits() *corev1.LimitRange {
	return &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "container-limits"},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type:    corev1.LimitTypeContainer,
			Max:     corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			Default: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
			DefaultRequest: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi"),
			},
		}}},
	}
}

// dryRunUntil dry-runs the pod's create until check accepts the answer: admission plugins
// that read LimitRanges and quotas through a cache see a new one after a moment.
func dryRunUntil(ctx context.Context, g gomega.Gomega, e *apiEnv, p *corev1.Pod, what string, check func(g gomega.Gomega, created *corev1.Pod, err error)) {
	g.Eventually(func(g gomega.Gomega) {
		created, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p.DeepCopy(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		check(g, created, err)
	}).WithContext(ctx).WithTimeout(policyTimeout).WithPolling(250*time.Millisecond).Should(gomega.Succeed(), what)
}

func specLimitRangeDefaults(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	_, err := e.client.CoreV1().LimitRanges(e.ns).Create(ctx, containerLimits(), metav1.CreateOptions{})
	ok(g, err, "creating a Container LimitRange")
	p := pod("defaulted")
	dryRunUntil(ctx, g, e, p, "the LimitRange's defaults must reach new pods", func(g gomega.Gomega, created *corev1.Pod, err error) {
		ok(g, err, "dry-run create")
		g.Expect(created.Spec.Containers[0].Resources.Limits).To(gomega.HaveKey(corev1.ResourceCPU))
	})
	created, err := e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
	ok(g, err, "creating a Pod without resources")
	res := created.Spec.Containers[0].Resources
	for name, want := range map[string]struct {
		got  corev1.ResourceList
		key  corev1.ResourceName
		want string
	}{
		"limits.cpu":      {res.Limits, corev1.ResourceCPU, "500m"},
		"limits.memory":   {res.Limits, corev1.ResourceMemory, "128Mi"},
		"requests.cpu":    {res.Requests, corev1.ResourceCPU, "250m"},
		"requests.memory": {res.Requests, corev1.ResourceMemory, "64Mi"},
	} {
		q, found := want.got[want.key]
		g.Expect(found).To(gomega.BeTrue(), "the created Pod's %s must be set from the LimitRange", name)
		g.Expect(q.Cmp(resource.MustParse(want.want))).To(gomega.Equal(0), "the created Pod's %s: got %s, want %s", name, q.String(), want.want)
	}
}

func specLimitRangeMax(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	_, err := e.client.CoreV1().LimitRanges(e.ns).Create(ctx, containerLimits(), metav1.CreateOptions{})
	ok(g, err, "creating a Container LimitRange with max cpu 1")
	p := pod("too-big")
	p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
	}
	dryRunUntil(ctx, g, e, p, "the LimitRange's max must reach new pods", func(g gomega.Gomega, _ *corev1.Pod, err error) {
		g.Expect(apierrors.IsForbidden(err)).To(gomega.BeTrue(), "expected 403 Forbidden, got %v", err)
	})
	_, err = e.client.CoreV1().Pods(e.ns).Create(ctx, p, metav1.CreateOptions{})
	g.Expect(apierrors.IsForbidden(err)).To(gomega.BeTrue(), "a Pod over the LimitRange's max: expected 403 Forbidden, got %v", err)
	g.Expect(err.Error()).To(gomega.ContainSubstring("maximum cpu usage per Container is 1, but limit is 2"), "the 403's message")
	expectNoPod(ctx, g, e, "too-big")
}

func specQuotaValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "invalid"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			corev1.ResourcePods:     resource.MustParse("-1"),
			corev1.ResourceServices: resource.MustParse("1500m"),
			"nonsense":              resource.MustParse("1"),
		}},
	}
	_, err := e.client.CoreV1().ResourceQuotas(e.ns).Create(ctx, q, metav1.CreateOptions{})
	expectInvalid(g, err, "creating an invalid ResourceQuota", "spec.hard[pods]", "spec.hard[services]", "spec.hard[nonsense]")
}

// createQuota creates a quota of hard and waits until its status.hard equals it and
// status.used lists every resource.
func createQuota(ctx context.Context, g gomega.Gomega, e *apiEnv, name string, hard corev1.ResourceList) {
	_, err := e.client.CoreV1().ResourceQuotas(e.ns).Create(ctx, &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.ResourceQuotaSpec{Hard: hard},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the ResourceQuota")
	g.Eventually(func(g gomega.Gomega) {
		q, err := e.client.CoreV1().ResourceQuotas(e.ns).Get(ctx, name, metav1.GetOptions{})
		ok(g, err, "reading the ResourceQuota")
		for k, v := range hard {
			got := q.Status.Hard[k]
			g.Expect(got.Cmp(v)).To(gomega.Equal(0), "status.hard[%s]: got %s, want %s", k, got.String(), v.String())
			g.Expect(q.Status.Used).To(gomega.HaveKey(k), "status.used must list %s", k)
		}
	}).WithContext(ctx).WithTimeout(policyTimeout).WithPolling(200*time.Millisecond).Should(gomega.Succeed(), "the quota's status.hard must come to equal its spec.hard")
}

// eventuallyUsed waits until the quota's status.used[res] is n.
func eventuallyUsed(ctx context.Context, g gomega.Gomega, e *apiEnv, name string, res corev1.ResourceName, n int64, what string) {
	g.Eventually(func() int64 {
		q, err := e.client.CoreV1().ResourceQuotas(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return -1
		}
		used := q.Status.Used[res]
		return used.Value()
	}).WithContext(ctx).WithTimeout(policyTimeout).WithPolling(200*time.Millisecond).Should(gomega.Equal(n), what)
}

func quotaService(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
	}
}

func specQuotaUsed(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	createQuota(ctx, g, e, "counts", corev1.ResourceList{
		corev1.ResourcePods: resource.MustParse("5"), corev1.ResourceServices: resource.MustParse("5"),
		"count/deployments.apps": resource.MustParse("5"),
	})
	eventuallyUsed(ctx, g, e, "counts", corev1.ResourceServices, 0, "status.used[services] of an empty namespace")
	_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, pod("counted"), metav1.CreateOptions{})
	ok(g, err, "creating a Pod")
	_, err = e.client.CoreV1().Services(e.ns).Create(ctx, quotaService("counted-a"), metav1.CreateOptions{})
	ok(g, err, "creating a Service")
	_, err = e.client.CoreV1().Services(e.ns).Create(ctx, quotaService("counted-b"), metav1.CreateOptions{})
	ok(g, err, "creating a second Service")
	// No replicas: on a live cluster a controller manager would otherwise add the Deployment's
	// pod to the pods counted below.
	d := deployment("counted")
	d.Spec.Replicas = ptr.To(int32(0))
	_, err = e.client.AppsV1().Deployments(e.ns).Create(ctx, d, metav1.CreateOptions{})
	ok(g, err, "creating a Deployment")
	eventuallyUsed(ctx, g, e, "counts", "count/deployments.apps", 1, "status.used[count/deployments.apps] after one Deployment")
	eventuallyUsed(ctx, g, e, "counts", corev1.ResourcePods, 1, "status.used[pods] after one Pod")
	eventuallyUsed(ctx, g, e, "counts", corev1.ResourceServices, 2, "status.used[services] after two Services")
}

func specQuotaExtended(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	const dongle = corev1.ResourceName("example.com/dongle")
	// The quota also names persistentvolumeclaims, which nothing in the namespace uses: its
	// status must be kept all the same.
	createQuota(ctx, g, e, "dongles", corev1.ResourceList{
		"requests." + dongle: resource.MustParse("3"), corev1.ResourcePersistentVolumeClaims: resource.MustParse("2"),
	})
	withDongles := func(name string, n string) *corev1.Pod {
		p := pod(name)
		p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{dongle: resource.MustParse(n)}, Limits: corev1.ResourceList{dongle: resource.MustParse(n)},
		}
		return p
	}
	_, err := e.client.CoreV1().Pods(e.ns).Create(ctx, withDongles("two", "2"), metav1.CreateOptions{})
	ok(g, err, "creating a Pod requesting 2 example.com/dongle")
	eventuallyUsed(ctx, g, e, "dongles", "requests."+dongle, 2, "status.used[requests.example.com/dongle] after a Pod requesting 2")
	_, err = e.client.CoreV1().Pods(e.ns).Create(ctx, withDongles("two-more", "2"), metav1.CreateOptions{})
	expectExceeded(g, err, "dongles", "creating a second Pod requesting 2 example.com/dongle of 3")
}

func expectExceeded(g gomega.Gomega, err error, quota, what string) {
	g.ExpectWithOffset(1, apierrors.IsForbidden(err)).To(gomega.BeTrue(), "%s: expected 403 Forbidden, got %v", what, err)
	g.ExpectWithOffset(1, err.Error()).To(gomega.ContainSubstring("exceeded quota: "+quota), "%s: the 403's message", what)
}

func specQuotaExceeded(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	createQuota(ctx, g, e, "one-service", corev1.ResourceList{corev1.ResourceServices: resource.MustParse("1")})
	svcs := e.client.CoreV1().Services(e.ns)
	_, err := svcs.Create(ctx, quotaService("first"), metav1.CreateOptions{})
	ok(g, err, "creating the one Service the quota allows")
	_, err = svcs.Create(ctx, quotaService("second"), metav1.CreateOptions{})
	expectExceeded(g, err, "one-service", "creating a second Service")
	g.Expect(strings.Contains(err.Error(), "services=1")).To(gomega.BeTrue(), "the 403 must state requested, used and limited services (got %v)", err)
	_, err = svcs.Get(ctx, "second", metav1.GetOptions{})
	g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "a refused Service must not be stored (got %v)", err)
}

func specQuotaFreed(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	createQuota(ctx, g, e, "one-pod", corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")})
	pods := e.client.CoreV1().Pods(e.ns)
	_, err := pods.Create(ctx, pod("holder"), metav1.CreateOptions{})
	ok(g, err, "creating the one Pod the quota allows")
	_, err = pods.Create(ctx, pod("waiting"), metav1.CreateOptions{})
	expectExceeded(g, err, "one-pod", "creating a second Pod")
	eventuallyUsed(ctx, g, e, "one-pod", corev1.ResourcePods, 1, "status.used[pods] with one Pod")
	ok(g, pods.Delete(ctx, "holder", metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))}), "deleting the Pod")
	eventuallyUsed(ctx, g, e, "one-pod", corev1.ResourcePods, 0, "status.used[pods] after the delete")
	g.Eventually(func() error {
		_, err := pods.Create(ctx, pod("waiting"), metav1.CreateOptions{})
		return err
	}).WithContext(ctx).WithTimeout(policyTimeout).WithPolling(250*time.Millisecond).Should(gomega.Succeed(), "the Pod the quota refused must be created once quota is freed")

	// An object counted through count/<resource>.<group> frees its quota as promptly.
	createQuota(ctx, g, e, "one-deployment", corev1.ResourceList{"count/deployments.apps": resource.MustParse("1")})
	eventuallyUsed(ctx, g, e, "one-deployment", "count/deployments.apps", 0, "status.used[count/deployments.apps] of a namespace without Deployments")
	_, err = e.client.AppsV1().Deployments(e.ns).Create(ctx, deployment("counted"), metav1.CreateOptions{})
	ok(g, err, "creating a Deployment")
	eventuallyUsed(ctx, g, e, "one-deployment", "count/deployments.apps", 1, "status.used[count/deployments.apps] with one Deployment")
	ok(g, e.client.AppsV1().Deployments(e.ns).Delete(ctx, "counted", metav1.DeleteOptions{}), "deleting the Deployment")
	eventuallyUsed(ctx, g, e, "one-deployment", "count/deployments.apps", 0, "status.used[count/deployments.apps] after the Deployment is deleted")
}
