// Package kubelet is clusterkit's node agent: it registers a Node, keeps it
// alive through a Lease in kube-node-lease and periodic status, watches the
// pods bound to its node (and static pods from a manifest directory, mirrored
// into the API), and runs them through a CRI runtime (containerd or the
// simulated runtime of cri/simruntime).
//
// A pod is synced by its own worker: image pulls per imagePullPolicy
// (ImageStatus first), one sandbox, containers with command, args, env, ports,
// working dir and Linux resources; liveness, readiness and startup probes
// (exec, HTTP, TCP); restarts per restartPolicy with exponential back-off and
// the CrashLoopBackOff waiting reason; a status with phase, conditions,
// container states, restart counts, exit codes and addresses; graceful
// termination within the pod's grace period.
//
// Nothing is kept only in memory: sandboxes and containers carry labels
// (pod UID, container name, node name) and annotations (restart count), so a
// restarted kubelet adopts what is running instead of starting duplicates.
//
// The kubelet also serves /containerLogs/NS/POD/CONTAINER and
// /exec/NS/POD/CONTAINER and /attach/NS/POD/CONTAINER on a port published in node.status.daemonEndpoints,
// which the API server proxies for `kubectl logs` and `kubectl exec`. Given a
// serving certificate (Config.TLSCertificate or TLSCertFile) it serves them
// as kubeadm's kubelet does: HTTPS, callers authenticated by client
// certificates against the client CA or by a TokenReview of their bearer
// token, anonymous callers refused with 401, and every request authorized by
// a SubjectAccessReview on the node's subresources (nodes/proxy, nodes/log,
// nodes/stats …; RequestAttributes), 403 when denied — with
// k8s.io/apiserver's delegating authenticator and authorizer and their
// caches.
package kubelet
