// Package limitranger is kube-apiserver's LimitRanger admission plugin for clusterkit's server:
// on a pod's create it sets the default requests and limits of every container that lacks
// them from the namespace's LimitRanges (annotating the pod with kubernetes.io/limit-ranger),
// then refuses, with 403 and kube-apiserver's messages, a pod outside a Container or Pod
// limit's min, max or maxLimitRequestRatio.
package limitranger
