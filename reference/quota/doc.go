// Package quota holds the quota evaluators of the core kinds clusterkit serves (pods,
// services, and object counts of configmaps, secrets, replication controllers, resource quotas
// and persistent volume claims), written against k8s.io/apiserver's pkg/quota/v1 interfaces as
// kube-controller-manager's and kube-apiserver's core evaluators are (those live in
// k8s.io/kubernetes, which clusterkit does not import). The ResourceQuota admission plugin and
// the resource-quota controller share them.
package quota
