// Package priority is kube-apiserver's Priority admission plugin: a new pod's
// spec.priorityClassName (or, when it names none, the globalDefault PriorityClass) resolves to
// spec.priority and spec.preemptionPolicy; an unknown class or a priority or policy that
// differs from the class's is refused (403), and a second globalDefault class is refused.
package priority
