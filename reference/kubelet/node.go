package kubelet

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/clusterkit/clusterkit/version"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Thresholds of the pressure conditions (Kubernetes' default hard eviction
// thresholds: memory.available<100Mi, nodefs.available<10%; PID pressure
// when fewer than 10% of pid_max are free).
const (
	diskPressureFraction  = 0.10
	pidPressureFraction   = 0.10
	defaultMaxPods        = 110
	nodeLeaseNamespace    = "kube-node-lease"
	kubeletEndpointScheme = "http"
)

// measurements are what the kubelet reads from the machine.
type measurements struct {
	memTotal, memAvailable int64
	diskTotal, diskFree    int64
	pidMax, pidsInUse      int64
	kernel, osImage        string
	machineID, bootID      string
	runtimeReady, netReady bool
	runtimeMessage         string
	runtimeVersion         string
}

func (k *Kubelet) measure(ctx context.Context) measurements {
	var m measurements
	if f, err := os.Open("/proc/meminfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			fs := strings.Fields(s.Text())
			if len(fs) < 2 {
				continue
			}
			v, _ := strconv.ParseInt(fs[1], 10, 64)
			switch fs[0] {
			case "MemTotal:":
				m.memTotal = v * 1024
			case "MemAvailable:":
				m.memAvailable = v * 1024
			}
		}
		_ = f.Close()
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(k.cfg.PodLogsDir, &st); err == nil {
		m.diskTotal = int64(st.Blocks) * int64(st.Bsize)
		m.diskFree = int64(st.Bavail) * int64(st.Bsize)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
		m.pidMax, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if fs := strings.Fields(string(b)); len(fs) >= 4 {
			if i := strings.IndexByte(fs[3], '/'); i >= 0 {
				m.pidsInUse, _ = strconv.ParseInt(fs[3][i+1:], 10, 64)
			}
		}
	}
	sys := k.system()
	m.kernel, m.osImage, m.machineID, m.bootID = sys.kernel, sys.osImage, sys.machineID, sys.bootID
	if v, err := k.runtime.Version(ctx, "v1"); err == nil {
		m.runtimeVersion = v.RuntimeName + "://" + v.RuntimeVersion
	}
	if s, err := k.runtime.Status(ctx, false); err != nil {
		m.runtimeMessage = "container runtime status check failed: " + err.Error()
	} else {
		var notReady []string
		for _, c := range s.GetStatus().GetConditions() {
			switch c.Type {
			case "RuntimeReady":
				m.runtimeReady = c.Status
			case "NetworkReady":
				m.netReady = c.Status
			}
			if !c.Status && (c.Type == "RuntimeReady" || c.Type == "NetworkReady") {
				notReady = append(notReady, fmt.Sprintf("%s=false reason:%s message:%s", c.Type, c.Reason, c.Message))
			}
		}
		m.runtimeMessage = strings.Join(notReady, "; ")
	}
	return m
}

func utsString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// systemInfo is what the kubelet reads from the machine once: it does not change while the
// kubelet runs (a reboot, a new kernel or OS image restarts it), as upstream's cadvisor reads the
// machine info once. Read on every status computation it cost one file read each per node every
// 10 s — 400 a second for 1,000 nodes in one process.
type systemInfo struct {
	kernel, osImage, machineID, bootID, kubeletVersion string
}

func (k *Kubelet) system() systemInfo {
	k.systemOnce.Do(func() {
		var u syscall.Utsname
		if err := syscall.Uname(&u); err == nil {
			k.systemInfo.kernel = utsString(u.Release[:])
		}
		k.systemInfo.osImage = osImage()
		k.systemInfo.machineID = readTrim("/etc/machine-id")
		k.systemInfo.bootID = readTrim("/proc/sys/kernel/random/boot_id")
		k.systemInfo.kubeletVersion = cmp.Or(k.cfg.Version, version.Get().GitVersion)
	})
	return k.systemInfo
}

func osImage() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}

// capacity is the node's capacity: measured, then overridden by Config.Capacity.
func (k *Kubelet) capacity(m measurements) corev1.ResourceList {
	c := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(m.memTotal, resource.BinarySI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(m.diskTotal, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(defaultMaxPods, resource.DecimalSI),
	}
	for n, q := range k.cfg.Capacity {
		c[n] = q.DeepCopy()
	}
	return c
}

// allocatable is capacity minus the reservations and the hard eviction threshold.
func (k *Kubelet) allocatable(capacity corev1.ResourceList) corev1.ResourceList {
	return k.cfg.allocatableOf(capacity)
}

// addresses are the Node's addresses: NodeIP first (where the API server
// reaches the kubelet), then the additional ones, then the hostname.
func (k *Kubelet) addresses() []corev1.NodeAddress {
	out := []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: k.cfg.NodeIP}}
	for _, ip := range k.cfg.AdditionalNodeIPs {
		if ip != "" && ip != k.cfg.NodeIP {
			out = append(out, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip})
		}
	}
	return append(out, corev1.NodeAddress{Type: corev1.NodeHostName, Address: k.cfg.NodeName})
}

// nodeStatus computes the node's status at now.
func (k *Kubelet) nodeStatus(ctx context.Context, old *corev1.NodeStatus) corev1.NodeStatus {
	m := k.measure(ctx)
	now := metav1.NewTime(k.cfg.Clock.Now())
	capacity := k.capacity(m)
	id := k.identity(m.machineID, m.bootID)
	st := corev1.NodeStatus{
		Capacity:        capacity,
		Allocatable:     k.allocatable(capacity),
		Addresses:       k.addresses(),
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(k.Port())}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               id.machineID,
			SystemUUID:              id.systemUUID,
			BootID:                  id.bootID,
			KernelVersion:           m.kernel,
			OSImage:                 m.osImage,
			ContainerRuntimeVersion: m.runtimeVersion,
			KubeletVersion:          k.system().kubeletVersion,
			OperatingSystem:         goruntime.GOOS,
			Architecture:            goruntime.GOARCH,
		},
	}
	if old != nil {
		st.Images = old.Images
		keepExtendedResources(old, &st)
	}
	memPressure := m.memTotal > 0 && k.cfg.EvictionHardMemory.Sign() > 0 && m.memAvailable < k.cfg.EvictionHardMemory.Value()
	diskPressure := m.diskTotal > 0 && float64(m.diskFree) < diskPressureFraction*float64(m.diskTotal)
	pidPressure := m.pidMax > 0 && float64(m.pidMax-m.pidsInUse) < pidPressureFraction*float64(m.pidMax)
	ready := m.runtimeReady && m.netReady
	cond := func(t corev1.NodeConditionType, on bool, trueReason, falseReason, trueMsg, falseMsg string) corev1.NodeCondition {
		c := corev1.NodeCondition{Type: t, Status: corev1.ConditionFalse, Reason: falseReason, Message: falseMsg, LastHeartbeatTime: now, LastTransitionTime: now}
		if on {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, trueReason, trueMsg
		}
		if old != nil {
			for _, o := range old.Conditions {
				if o.Type == t && o.Status == c.Status {
					c.LastTransitionTime = o.LastTransitionTime
				}
			}
		}
		return c
	}
	readyMsg := "kubelet is posting ready status"
	if !ready {
		readyMsg = "container runtime not ready: " + m.runtimeMessage
	}
	st.Conditions = []corev1.NodeCondition{
		cond(corev1.NodeMemoryPressure, memPressure, "KubeletHasInsufficientMemory", "KubeletHasSufficientMemory",
			"kubelet has insufficient memory available", "kubelet has sufficient memory available"),
		cond(corev1.NodeDiskPressure, diskPressure, "KubeletHasDiskPressure", "KubeletHasNoDiskPressure",
			"kubelet has disk pressure", "kubelet has no disk pressure"),
		cond(corev1.NodePIDPressure, pidPressure, "KubeletHasInsufficientPID", "KubeletHasSufficientPID",
			"kubelet has insufficient PID available", "kubelet has sufficient PID available"),
		cond(corev1.NodeReady, ready, "KubeletReady", "KubeletNotReady", readyMsg, readyMsg),
	}
	return st
}

// keepExtendedResources carries into st the capacity entries of old that the kubelet does not
// compute itself — extended resources a device plugin or a cluster operator advertised by
// patching the node's status (example.com/dongle: 4) — with the same allocatable, as the
// upstream kubelet, which starts its capacity from the node's and sets only what it measures.
func keepExtendedResources(old, st *corev1.NodeStatus) {
	for name, q := range old.Capacity {
		if _, ours := st.Capacity[name]; ours || !isExtendedResource(name) {
			continue
		}
		st.Capacity[name] = q.DeepCopy()
		st.Allocatable[name] = q.DeepCopy()
	}
}

// isExtendedResource: a resource name outside kubernetes.io's native ones (a domain-prefixed
// name other than kubernetes.io/… and requests.…), as Kubernetes defines extended resources.
func isExtendedResource(name corev1.ResourceName) bool {
	n := string(name)
	if !strings.Contains(n, "/") || strings.HasPrefix(n, "requests.") {
		return false
	}
	domain := n[:strings.Index(n, "/")]
	return domain != "kubernetes.io" && !strings.HasSuffix(domain, ".kubernetes.io")
}

func (k *Kubelet) nodeLabels() map[string]string {
	l := map[string]string{
		corev1.LabelHostname:   k.cfg.NodeName,
		corev1.LabelOSStable:   goruntime.GOOS,
		corev1.LabelArchStable: goruntime.GOARCH,
	}
	for n, v := range k.cfg.Labels {
		l[n] = v
	}
	return l
}

// registerNode creates the Node (or adopts an existing one) and posts its
// status.
func (k *Kubelet) registerNode(ctx context.Context) error {
	nodes := k.client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.cfg.NodeName, Labels: k.nodeLabels()}}
		if k.cfg.PodCIDR != "" {
			node.Spec.PodCIDR, node.Spec.PodCIDRs = k.cfg.PodCIDR, []string{k.cfg.PodCIDR}
		}
		node, err = nodes.Create(ctx, node, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			node, err = nodes.Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("registering node %s: %w", k.cfg.NodeName, err)
	}
	missing := false
	for n, v := range k.nodeLabels() {
		if node.Labels[n] != v {
			missing = true
		}
	}
	if missing {
		if node.Labels == nil {
			node.Labels = map[string]string{}
		}
		for n, v := range k.nodeLabels() {
			node.Labels[n] = v
		}
		if node, err = nodes.Update(ctx, node, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("labelling node %s: %w", k.cfg.NodeName, err)
		}
	}
	return k.postNodeStatus(ctx, node, true)
}

// postNodeStatus computes the node's status and writes it when it differs from the node's
// (heartbeat times aside), when force is set or when StatusReportInterval has passed since
// the last write: as the upstream kubelet, an unchanged status is not rewritten every
// StatusInterval (each write wakes every watcher of nodes); the Lease is the heartbeat.
func (k *Kubelet) postNodeStatus(ctx context.Context, node *corev1.Node, force bool) error {
	nodes := k.client.CoreV1().Nodes()
	for attempt := 0; ; attempt++ {
		if node == nil {
			// As the upstream kubelet: the first read from the API server's cache
			// (resourceVersion "0"), a retry after a conflict from etcd.
			opts := metav1.GetOptions{}
			if attempt == 0 {
				opts.ResourceVersion = "0"
			}
			var err error
			if node, err = nodes.Get(ctx, k.cfg.NodeName, opts); err != nil {
				if apierrors.IsNotFound(err) {
					return k.registerNode(ctx)
				}
				return err
			}
		}
		prev := node.Status.Conditions
		st := k.nodeStatus(ctx, &node.Status)
		k.mu.Lock()
		due := k.cfg.Clock.Since(k.statusReported) >= k.cfg.StatusReportInterval
		k.mu.Unlock()
		if !force && !due && !nodeStatusChanged(&node.Status, &st) {
			return nil
		}
		node.Status = st
		_, err := nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) && attempt < 3 {
			node = nil
			continue
		}
		if err != nil {
			return fmt.Errorf("posting status of node %s: %w", k.cfg.NodeName, err)
		}
		k.mu.Lock()
		k.statusReported = k.cfg.Clock.Now()
		k.mu.Unlock()
		k.conditionEvents(prev, node.Status.Conditions, !k.statusPosted.Swap(true))
		return nil
	}
}

func (k *Kubelet) nodeStatusLoop(ctx context.Context) {
	t := k.cfg.Clock.NewTicker(k.cfg.StatusInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		if err := k.postNodeStatus(ctx, nil, false); err != nil && ctx.Err() == nil {
			k.logf("%v", err)
		}
	}
}

// leaseLoop keeps the node's Lease in kube-node-lease renewed.
func (k *Kubelet) leaseLoop(ctx context.Context) {
	interval := k.cfg.LeaseDuration / 4
	for {
		if err := k.renewLease(ctx); err != nil && ctx.Err() == nil {
			k.logf("renewing lease: %v", err)
			interval = time.Second
		} else {
			interval = k.cfg.LeaseDuration / 4
		}
		select {
		case <-ctx.Done():
			return
		case <-k.cfg.Clock.After(interval):
		}
	}
}

// renewLease renews the node's Lease. As the upstream kubelet's lease controller it updates
// the Lease it last wrote without reading it first, and reads it again only after a failure.
func (k *Kubelet) renewLease(ctx context.Context) error {
	leases := k.client.CoordinationV1().Leases(nodeLeaseNamespace)
	now := metav1.NewMicroTime(k.cfg.Clock.Now())
	if l := k.lease; l != nil {
		k.lease = nil
		l = l.DeepCopy()
		l.Spec.RenewTime = &now
		if updated, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err == nil {
			k.lease = updated
			return nil
		}
	}
	l, err := leases.Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, nerr := k.client.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
		if nerr != nil {
			return nerr
		}
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: k.cfg.NodeName, Namespace: nodeLeaseNamespace,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(k.cfg.NodeName),
				LeaseDurationSeconds: ptr.To(int32(k.cfg.LeaseDuration / time.Second)),
				RenewTime:            &now,
			},
		}
		k.lease, err = leases.Create(ctx, l, metav1.CreateOptions{})
		if err != nil {
			k.lease = nil
		}
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.HolderIdentity = ptr.To(k.cfg.NodeName)
	l.Spec.LeaseDurationSeconds = ptr.To(int32(k.cfg.LeaseDuration / time.Second))
	l.Spec.RenewTime = &now
	if k.lease, err = leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		k.lease = nil
	}
	return err
}

// nodeStatusChanged reports whether st differs from old other than in its conditions'
// heartbeat times.
func nodeStatusChanged(old, st *corev1.NodeStatus) bool {
	strip := func(s *corev1.NodeStatus) *corev1.NodeStatus {
		c := s.DeepCopy()
		for i := range c.Conditions {
			c.Conditions[i].LastHeartbeatTime = metav1.Time{}
		}
		return c
	}
	return !apiequality.Semantic.DeepEqual(strip(old), strip(st))
}
