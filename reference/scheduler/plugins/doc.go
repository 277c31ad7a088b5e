// Package plugins holds the reference scheduler's Filter and Score plugins
// (interfaces.FilterPlugin, interfaces.ScorePlugin) and the default registry:
//
//   - NodeResourcesFit: filters nodes whose allocatable cpu, memory, pods (and
//     any other requested resource) minus what bound pods request cannot hold
//     the pod; scores the feasible ones LeastAllocated or MostAllocated.
//   - NodeResourcesBalancedAllocation: prefers nodes whose cpu and memory
//     fractions the pod brings closer together (kube-scheduler 1.37's score
//     of the balance with the pod against the balance without it).
//   - NodeUnschedulable: filters cordoned nodes (spec.unschedulable).
//   - NodeAffinity: filters nodes that do not match the pod's nodeSelector
//     and required node affinity.
//   - TaintToleration: filters nodes with untolerated NoSchedule/NoExecute
//     taints and scores down untolerated PreferNoSchedule taints.
//   - NodeName: filters every node but the one spec.nodeName names.
//   - PodTopologySpread: filters the nodes whose topology domain would exceed
//     a DoNotSchedule constraint's maxSkew and scores ScheduleAnyway
//     constraints (a PreFilterPlugin and a PreScorePlugin: it compares the
//     domains of the whole cluster).
//
// Each plugin but PodTopologySpread is a pure function of the pod and one
// interfaces.NodeInfo.
package plugins
