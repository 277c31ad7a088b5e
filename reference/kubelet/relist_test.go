package kubelet

import (
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestSettledView(t *testing.T) {
	t0 := time.Unix(1000, 0)
	sandboxes := []*runtimeapi.PodSandbox{{Id: "s1", State: runtimeapi.PodSandboxState_SANDBOX_READY, Labels: map[string]string{LabelPodUID: "u"}}}
	ctrs := []*runtimeapi.Container{{Id: "c1", State: runtimeapi.ContainerState_CONTAINER_RUNNING, Labels: map[string]string{LabelPodUID: "u"}}}
	fp := fingerprints(sandboxes, ctrs)["u"]
	if fp == "" {
		t.Fatal("no fingerprint for the pod")
	}
	exited := []*runtimeapi.Container{{Id: "c1", State: runtimeapi.ContainerState_CONTAINER_EXITED, Labels: map[string]string{LabelPodUID: "u"}}}
	prev := &runtimeView{at: t0, sandboxes: sandboxes, ctrs: ctrs, fingerprint: fp}
	for _, tc := range []struct {
		name      string
		prev      *runtimeView
		timerWake bool
		relist    string
		relistAt  time.Time
		reuse     bool
	}{
		{"the relist agrees", prev, true, fp, t0.Add(time.Second), true},
		{"the relist is older than the view", prev, true, "", t0.Add(-time.Second), true},
		{"the relist saw a change since", prev, true, fingerprints(sandboxes, exited)["u"], t0.Add(time.Second), false},
		{"the relist no longer sees the pod", prev, true, "", t0.Add(time.Second), false},
		{"woken by a change", prev, false, fp, t0.Add(time.Second), false},
		{"the last sync did not settle", nil, true, fp, t0.Add(time.Second), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &Kubelet{lastRelist: map[string]string{}, lastRelistAt: tc.relistAt}
			if tc.relist != "" {
				k.lastRelist["u"] = tc.relist
			}
			w := &podWorker{k: k, timerWake: tc.timerWake}
			if got := w.settledView("u", tc.prev); (got != nil) != tc.reuse {
				t.Errorf("reused %v, want %v", got != nil, tc.reuse)
			}
		})
	}
}
