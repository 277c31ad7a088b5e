// Package ttlafterfinished is the TTL-after-finished controller (kube-controller-manager's
// "ttl-after-finished-controller"): it deletes a Job spec.ttlSecondsAfterFinished seconds after
// it finished — its completionTime, or the time its Complete or Failed condition became True —
// measured on the manager's clock, with background propagation so that the garbage collector
// deletes its pods.
package ttlafterfinished
