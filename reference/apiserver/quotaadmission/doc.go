// Package quotaadmission is kube-apiserver's ResourceQuota admission plugin
// (k8s.io/apiserver/pkg/admission/plugin/resourcequota) set up for clusterkit's server with
// the core evaluators of reference/quota: a create or update that would take a quota's
// status.used over its status.hard is refused with 403 "exceeded quota: NAME, requested: ...,
// used: ..., limited: ...", and an admitted one is charged to status.used before it is stored.
package quotaadmission
