package kubelet

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
)

func conds(kv ...string) []corev1.NodeCondition {
	var out []corev1.NodeCondition
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, corev1.NodeCondition{Type: corev1.NodeConditionType(kv[i]), Status: corev1.ConditionStatus(kv[i+1])})
	}
	return out
}

// TestConditionEventsOnTransitions checks which node status Events a status post records.
func TestConditionEventsOnTransitions(t *testing.T) {
	healthy := conds("MemoryPressure", "False", "DiskPressure", "False", "PIDPressure", "False", "Ready", "True")
	const pressure = "Normal NodeHasSufficientMemory Node n1 status is now: NodeHasSufficientMemory|Normal NodeHasNoDiskPressure Node n1 status is now: NodeHasNoDiskPressure|Normal NodeHasSufficientPID Node n1 status is now: NodeHasSufficientPID"
	cases := []struct {
		name      string
		prev, cur []corev1.NodeCondition
		starting  bool
		want      string
	}{
		{"registration: pressure once, no Ready", nil, healthy, true, pressure},
		{"restart: pressure again, Ready unchanged", healthy, healthy, true, pressure},
		{"heartbeat: nothing", healthy, healthy, false, ""},
		{"back from Unknown", conds("MemoryPressure", "Unknown", "DiskPressure", "Unknown", "PIDPressure", "Unknown", "Ready", "Unknown"), healthy, false,
			pressure + "|Normal NodeReady Node n1 status is now: NodeReady"},
		{"runtime down", healthy, conds("MemoryPressure", "False", "DiskPressure", "False", "PIDPressure", "False", "Ready", "False"), false,
			"Normal NodeNotReady Node n1 status is now: NodeNotReady"},
		{"under pressure", healthy, conds("MemoryPressure", "True", "DiskPressure", "True", "PIDPressure", "True", "Ready", "True"), false,
			"Normal NodeHasInsufficientMemory Node n1 status is now: NodeHasInsufficientMemory|Normal NodeHasDiskPressure Node n1 status is now: NodeHasDiskPressure|Normal NodeHasInsufficientPID Node n1 status is now: NodeHasInsufficientPID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := record.NewFakeRecorder(16)
			var r record.EventRecorder = rec
			k := &Kubelet{cfg: Config{NodeName: "n1"}}
			k.recorder.Store(&r)
			k.conditionEvents(c.prev, c.cur, c.starting)
			close(rec.Events)
			var got []string
			for ev := range rec.Events {
				got = append(got, ev)
			}
			var want []string
			if c.want != "" {
				want = strings.Split(c.want, "|")
			}
			if !slices.Equal(got, want) {
				t.Errorf("events:\n got %q\nwant %q", got, want)
			}
		})
	}
}
