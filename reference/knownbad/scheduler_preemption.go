package knownbad

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
)

// SchedulerPreemptingEqualPriority is the reference scheduler whose
// preemption also deletes pods of the preemptor's own priority (<= instead of
// <): a pod that fits nowhere evicts its peers.
func SchedulerPreemptingEqualPriority(cfg *rest.Config, name string) (interfaces.Component, error) {
	p := scheduler.DefaultProfile(interfaces.LeastAllocated)
	p.Preemption.MayEvict = func(preemptor, victim *corev1.Pod) bool {
		return priorityOf(victim) <= priorityOf(preemptor)
	}
	return scheduler.New(cfg, scheduler.Options{SchedulerName: name, Profile: &p})
}

// SchedulerWithoutPreemption is the reference scheduler with preemption
// turned off: a high-priority pod that fits nowhere waits forever behind
// lower-priority ones.
func SchedulerWithoutPreemption(cfg *rest.Config, name string) (interfaces.Component, error) {
	p := scheduler.DefaultProfile(interfaces.LeastAllocated)
	p.Preemption.Disabled = true
	return scheduler.New(cfg, scheduler.Options{SchedulerName: name, Profile: &p})
}

func priorityOf(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}
