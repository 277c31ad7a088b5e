package conformance

import (
	"context"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// podStatusDriver stands in for the scheduler and the kubelets of the
// controller specs' nodes (see ControllerHarness). It only does what those
// components do through the API: Node and Lease registration, Bindings, pod
// status, heartbeats and the final delete of gracefully deleted pods.
type podStatusDriver struct {
	client kubernetes.Interface
	ns     string
	nodes  []string
	now    func() time.Time
	queue  workqueue.TypedRateLimitingInterface[string]
	pods   cache.Indexer

	mu          sync.Mutex
	dead        map[string]bool
	holdBinding bool
	nextNode    int
	nextIP      int
	ips         map[string]string
}

// nodeCapacity is what each stand-in node offers.
func nodeCapacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("2000"),
	}
}

func startPodStatusDriver(ctx context.Context, c Cleaner, client kubernetes.Interface, ns string, nodes []string, now func() time.Time) (*podStatusDriver, error) {
	d := &podStatusDriver{
		client: client, ns: ns, nodes: nodes, now: now,
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, time.Second)),
		dead:  map[string]bool{}, ips: map[string]string{},
	}
	for _, n := range nodes {
		if err := d.registerNode(ctx, n); err != nil {
			return nil, err
		}
	}
	c.Cleanup(func() {
		bg := context.Background()
		for _, n := range nodes {
			_ = client.CoreV1().Nodes().Delete(bg, n, metav1.DeleteOptions{})
			_ = client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Delete(bg, n, metav1.DeleteOptions{})
		}
	})
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Pods().Informer()
	d.pods = inf.GetIndexer()
	add := func(obj any) {
		if k, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			d.queue.Add(k)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, o any) { add(o) }}); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	c.Cleanup(func() {
		cancel()
		d.queue.ShutDown()
		wg.Wait()
		factory.Shutdown()
	})
	factory.Start(runCtx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return nil, fmt.Errorf("the driver's pod informer did not sync")
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d.work(runCtx) {
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				_ = d.renewAll(runCtx)
			}
		}
	}()
	return d, nil
}

func (d *podStatusDriver) registerNode(ctx context.Context, name string) error {
	now := metav1.NewTime(d.now())
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name, "clusterkit.dev/conformance-node": "true"}},
		Status: corev1.NodeStatus{
			Capacity: nodeCapacity(), Allocatable: nodeCapacity(),
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.250.0.1"}, {Type: corev1.NodeHostName, Address: name}},
		},
	}
	created, err := d.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("registering node %s: %w", name, err)
	}
	if len(created.Status.Conditions) == 0 {
		// Servers that drop status on create get it through the subresource.
		created.Status = node.Status
		if _, err := d.client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("reporting node %s Ready: %w", name, err)
		}
	}
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: corev1.NamespaceNodeLease},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(name), LeaseDurationSeconds: ptr.To(int32(40)),
			RenewTime: &metav1.MicroTime{Time: d.now()}},
	}
	if _, err := d.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the lease of node %s: %w", name, err)
	}
	return nil
}

func (d *podStatusDriver) alive(node string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.dead[node]
}

// renewAll renews the Lease of every live node with the manager's time.
func (d *podStatusDriver) renewAll(ctx context.Context) error {
	for _, n := range d.nodes {
		if !d.alive(n) {
			continue
		}
		if err := d.renew(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func (d *podStatusDriver) renew(ctx context.Context, node string) error {
	leases := d.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	// The driver's own heartbeat and a spec's explicit renewal may race on
	// one Lease: the loser reads again.
	return retry.RetryOnConflict(conflictBackoff(), func() error {
		l, err := leases.Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := d.now()
		if l.Spec.RenewTime != nil && l.Spec.RenewTime.Time.Equal(now) {
			return nil
		}
		l.Spec.RenewTime = &metav1.MicroTime{Time: now}
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
		return err
	})
}

// Kill stops a node's heartbeats and pod handling.
func (d *podStatusDriver) Kill(_ context.Context, node string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dead[node] = true
	return nil
}

// Revive resumes a node: it renews its Lease, reports Ready, and handles its
// pods again.
func (d *podStatusDriver) Revive(ctx context.Context, node string) error {
	d.mu.Lock()
	delete(d.dead, node)
	d.mu.Unlock()
	if err := d.renew(ctx, node); err != nil {
		return err
	}
	// The node lifecycle controller writes the same status (Ready=Unknown):
	// on a conflict, read again.
	err := retry.RetryOnConflict(conflictBackoff(), func() error {
		n, err := d.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.NewTime(d.now())
		cond := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}
		replaced := false
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == corev1.NodeReady {
				n.Status.Conditions[i], replaced = cond, true
			}
		}
		if !replaced {
			n.Status.Conditions = append(n.Status.Conditions, cond)
		}
		_, err = d.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return err
	}
	for _, k := range d.pods.ListKeys() {
		d.queue.Add(k)
	}
	return nil
}

// setHoldBinding stops (true) or resumes (false) binding pods to nodes.
func (d *podStatusDriver) setHoldBinding(hold bool) {
	d.mu.Lock()
	d.holdBinding = hold
	d.mu.Unlock()
	if !hold {
		for _, k := range d.pods.ListKeys() {
			d.queue.Add(k)
		}
	}
}

func (d *podStatusDriver) work(ctx context.Context) bool {
	key, shutdown := d.queue.Get()
	if shutdown {
		return false
	}
	defer d.queue.Done(key)
	if err := d.sync(ctx, key); err != nil && ctx.Err() == nil {
		d.queue.AddRateLimited(key)
		return true
	}
	d.queue.Forget(key)
	return true
}

// pickNode chooses a live node without NoSchedule/NoExecute taints, round
// robin.
func (d *podStatusDriver) pickNode(ctx context.Context) (string, error) {
	for range d.nodes {
		d.mu.Lock()
		n := d.nodes[d.nextNode%len(d.nodes)]
		d.nextNode++
		d.mu.Unlock()
		if !d.alive(n) {
			continue
		}
		node, err := d.client.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		usable := !node.Spec.Unschedulable
		for _, t := range node.Spec.Taints {
			if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
				usable = false
			}
		}
		if usable {
			return n, nil
		}
	}
	return "", fmt.Errorf("no usable node")
}

// pinnedNode returns the node a pod's required node affinity pins it to with a matchFields
// metadata.name In [node] term (as the DaemonSet controller pins daemon pods).
func pinnedNode(p *corev1.Pod) (string, bool) {
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return "", false
	}
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range t.MatchFields {
			if f.Key == metav1.ObjectNameField && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0], true
			}
		}
	}
	return "", false
}

// canHost reports whether the pinned pod p may be bound to node: one of the driver's live
// nodes whose NoSchedule and NoExecute taints p tolerates.
func (d *podStatusDriver) canHost(ctx context.Context, node string, p *corev1.Pod) (bool, error) {
	if !d.isOurs(node) || !d.alive(node) {
		return false, nil
	}
	n, err := d.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, t := range n.Spec.Taints {
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		tolerated := false
		for _, tol := range p.Spec.Tolerations {
			if tol.ToleratesTaint(klog.Background(), &t, false) {
				tolerated = true
			}
		}
		if !tolerated {
			return false, nil
		}
	}
	return true, nil
}

func (d *podStatusDriver) sync(ctx context.Context, key string) error {
	obj, exists, err := d.pods.GetByKey(key)
	if err != nil || !exists {
		return err
	}
	p := obj.(*corev1.Pod)
	pods := d.client.CoreV1().Pods(p.Namespace)
	if p.Spec.NodeName == "" {
		d.mu.Lock()
		hold := d.holdBinding
		d.mu.Unlock()
		if hold || p.DeletionTimestamp != nil {
			return nil
		}
		node, pinned := pinnedNode(p)
		if pinned {
			// A pod pinned by a required matchFields metadata.name term (daemon pods): bind it
			// there, as a scheduler would, if the node is ours, alive and its taints tolerated.
			ok, err := d.canHost(ctx, node, p)
			if err != nil || !ok {
				return err
			}
		} else {
			node, err = d.pickNode(ctx)
			if err != nil {
				return err
			}
		}
		err = pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID},
			Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	if !d.alive(p.Spec.NodeName) || !d.isOurs(p.Spec.NodeName) {
		return nil
	}
	if p.DeletionTimestamp != nil {
		err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0)), Preconditions: &metav1.Preconditions{UID: &p.UID}})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return nil
	}
	if p.Status.Phase == corev1.PodRunning && readyCond(p) {
		if codes, ok := scriptedExits(p); ok {
			return d.finish(ctx, p, codes)
		}
		return nil
	}
	now := metav1.NewTime(d.now())
	cp := p.DeepCopy()
	cp.Status.Phase = corev1.PodRunning
	cp.Status.HostIP = "10.250.0.1"
	cp.Status.PodIP = d.ipFor(p)
	cp.Status.PodIPs = []corev1.PodIP{{IP: cp.Status.PodIP}}
	if cp.Status.StartTime == nil {
		cp.Status.StartTime = &now
	}
	cp.Status.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
	}
	cp.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		cp.Status.ContainerStatuses = append(cp.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: true, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	_, err = pods.UpdateStatus(ctx, cp, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		if apierrors.IsConflict(err) {
			return err
		}
		return nil
	}
	return err
}

func (d *podStatusDriver) isOurs(node string) bool {
	for _, n := range d.nodes {
		if n == node {
			return true
		}
	}
	return false
}

func (d *podStatusDriver) ipFor(p *corev1.Pod) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ip, ok := d.ips[string(p.UID)]; ok {
		return ip
	}
	d.nextIP++
	ip := fmt.Sprintf("10.%d.%d.%d", 64+d.nextIP/65536%64, d.nextIP/256%256, d.nextIP%256)
	d.ips[string(p.UID)] = ip
	return ip
}

func readyCond(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// StartSimulatedNodes starts the suite's stand-in for the scheduler and the
// kubelets (see ControllerHarness) for the pods of namespace ns, on Node
// objects it registers under the given names; it stops, and deletes the
// nodes, when c's cleanups run. Benchmarks use it to run workloads on
// simulated nodes without a scheduler or kubelets.
func StartSimulatedNodes(ctx context.Context, c Cleaner, client kubernetes.Interface, ns string, nodes []string, now func() time.Time) (NodeAgents, error) {
	if now == nil {
		now = time.Now
	}
	return startPodStatusDriver(ctx, c, client, ns, nodes, now)
}

// scriptedExits returns the exit code of each container of a pod whose containers all run
// `sh -c "exit N"` (the Job specs' pods), as a kubelet running them would see them end; ok is
// false for any other pod, and for a failing container that restartPolicy restarts.
func scriptedExits(p *corev1.Pod) ([]int32, bool) {
	var codes []int32
	for _, c := range p.Spec.Containers {
		cmd := append(append([]string{}, c.Command...), c.Args...)
		if len(cmd) != 3 || cmd[0] != "sh" || cmd[1] != "-c" {
			return nil, false
		}
		var n int32
		if _, err := fmt.Sscanf(cmd[2], "exit %d", &n); err != nil {
			return nil, false
		}
		if n != 0 && p.Spec.RestartPolicy != corev1.RestartPolicyNever {
			return nil, false
		}
		codes = append(codes, n)
	}
	return codes, len(codes) > 0
}

// finish reports a running pod's containers terminated with codes: the pod Succeeded when
// every code is 0, else Failed.
func (d *podStatusDriver) finish(ctx context.Context, p *corev1.Pod, codes []int32) error {
	now := metav1.NewTime(d.now())
	cp := p.DeepCopy()
	cp.Status.Phase = corev1.PodSucceeded
	reason := "Completed"
	for _, c := range codes {
		if c != 0 {
			cp.Status.Phase, reason = corev1.PodFailed, "Error"
		}
	}
	for i := range cp.Status.Conditions {
		if t := cp.Status.Conditions[i].Type; t == corev1.PodReady || t == corev1.ContainersReady {
			cp.Status.Conditions[i].Status = corev1.ConditionFalse
			cp.Status.Conditions[i].Reason = "PodCompleted"
			cp.Status.Conditions[i].LastTransitionTime = now
		}
	}
	for i := range cp.Status.ContainerStatuses {
		cs := &cp.Status.ContainerStatuses[i]
		var started metav1.Time
		if cs.State.Running != nil {
			started = cs.State.Running.StartedAt
		}
		cs.Ready, cs.Started = false, ptr.To(false)
		cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: codes[min(i, len(codes)-1)], Reason: reason, StartedAt: started, FinishedAt: now,
		}}
	}
	_, err := d.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, cp, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
