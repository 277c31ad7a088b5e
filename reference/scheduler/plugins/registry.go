package plugins

import (
	"github.com/clusterkit/clusterkit/interfaces"
)

// Registry returns a fresh registry holding every plugin of this package.
func Registry() interfaces.Registry {
	return interfaces.Registry{
		NodeResourcesFitName:                NewFit,
		NodeResourcesBalancedAllocationName: NewBalancedAllocation,
		NodeUnschedulableName:               NewUnschedulable,
		NodeAffinityName:                    NewAffinity,
		TaintTolerationName:                 NewTaintToleration,
		NodeNameName:                        NewNodeName,
		NodePortsName:                       NewNodePorts,
		ImageLocalityName:                   NewImageLocality,
		PodTopologySpreadName:               NewTopologySpread,
		InterPodAffinityName:                NewInterPodAffinity,
	}
}

// DefaultFilters are the filters of the default profile, in Kubernetes'
// order; a node's reported reason comes from the first filter it fails.
func DefaultFilters() []string {
	return []string{
		NodeUnschedulableName,
		NodeNameName,
		TaintTolerationName,
		NodeAffinityName,
		NodePortsName,
		NodeResourcesFitName,
		PodTopologySpreadName,
		InterPodAffinityName,
	}
}

// DefaultScores are the scores of the default profile and their weights
// (Kubernetes' defaults: taints weigh 3, node affinity 2).
func DefaultScores() map[string]int64 {
	return map[string]int64{
		NodeResourcesFitName:                1,
		NodeResourcesBalancedAllocationName: 1,
		TaintTolerationName:                 3,
		NodeAffinityName:                    2,
		ImageLocalityName:                   1,
		PodTopologySpreadName:               2,
		InterPodAffinityName:                2,
	}
}
