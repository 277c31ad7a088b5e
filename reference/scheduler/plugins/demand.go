package plugins

import (
	"sort"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
)

// demand is what a pod asks of a node, worked out once per pod rather than
// once per node: its effective requests (PodRequests), their names sorted
// (the order Fit reports shortfalls in), and its cpu and memory with the
// scoring defaults (NonZeroRequests).
type demand struct {
	pod      *corev1.Pod
	rv       string
	req      corev1.ResourceList
	names    []corev1.ResourceName
	cpu, mem int64
}

// demandMemo remembers the demand of the last pod a plugin was asked about:
// the scheduler filters and scores one pod on many nodes in a row. A pod is
// recognised by its pointer and resourceVersion (the scheduler's pods are
// informer objects, never changed in place).
type demandMemo struct {
	last atomic.Pointer[demand]
}

func (m *demandMemo) of(pod *corev1.Pod) *demand {
	if d := m.last.Load(); d != nil && d.pod == pod && d.rv == pod.ResourceVersion {
		return d
	}
	d := &demand{pod: pod, rv: pod.ResourceVersion}
	d.req, d.cpu, d.mem = Requests(pod)
	d.names = make([]corev1.ResourceName, 0, len(d.req))
	for name := range d.req {
		d.names = append(d.names, name)
	}
	sort.Slice(d.names, func(i, j int) bool { return d.names[i] < d.names[j] })
	m.last.Store(d)
	return d
}
