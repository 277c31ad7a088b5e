package knownbad_test

import (
	"context"
	"testing"
	"time"

	cri "k8s.io/cri-api/pkg/apis"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/knownbad"
	"github.com/clusterkit/clusterkit/reference/kubelet"
	"github.com/clusterkit/clusterkit/reference/kubelet/kubeletharness"
)

// TestKubeletSuiteRejectsKnownBadKubelets runs the kubelet specs aimed at
// each bug against the broken kubelet (on the simulated runtime) and asserts
// that they fail.
func TestKubeletSuiteRejectsKnownBadKubelets(t *testing.T) {
	cases := []struct {
		name     string
		wrap     func(cri.RuntimeService) cri.RuntimeService
		config   func(*kubelet.Config)
		mustFail []string
	}{
		{"never restarts", knownbad.KubeletNeverRestarting, nil,
			[]string{"kubelet.restart.crash-loop-backoff", "kubelet.restart.on-failure", "kubelet.probe.liveness-restarts"}},
		{"restarts without back-off", nil, knownbad.KubeletWithoutBackoff,
			[]string{"kubelet.restart.crash-loop-backoff"}},
		{"reports Running before the container starts", knownbad.KubeletReportingRunningEarly(6 * time.Second), nil,
			[]string{"kubelet.pod.running-means-started"}},
		{"mounts no volumes and passes no environment", knownbad.KubeletWithoutVolumes, nil,
			[]string{"kubelet.volumes.secret-file-and-env", "kubelet.volumes.projected-token", "kubelet.volumes.emptydir-shared", "kubelet.volumes.pod-certificate"}},
		{"mounts a stale configMap forever", nil, knownbad.KubeletWithStaleVolumes,
			[]string{"kubelet.volumes.configmap-update", "kubelet.volumes.downwardapi-labels-update"}},
		{"injects no Service environment variables", knownbad.KubeletWithoutServiceLinks, nil,
			[]string{"kubelet.env.service-variables"}},
		{"ignores the grace period", knownbad.KubeletIgnoringGracePeriod, nil,
			[]string{"kubelet.termination.grace-period", "kubelet.termination.delete-grace-override"}},
		{"ignores runAsUser and capabilities", knownbad.KubeletIgnoringSecurityContext, nil,
			[]string{"kubelet.security.run-as-user", "kubelet.security.capabilities"}},
		{"ignores privileged, read-only root, no_new_privs and seccomp", knownbad.KubeletIgnoringPrivilegeSettings, nil,
			[]string{"kubelet.security.privileged", "kubelet.security.read-only-root", "kubelet.security.no-new-privs", "kubelet.security.seccomp"}},
		{"ignores hostPID and shareProcessNamespace", knownbad.KubeletIgnoringHostPID, nil,
			[]string{"kubelet.security.pid-namespace"}},
		{"runs init containers in parallel", knownbad.KubeletNotAwaitingInitContainers, nil,
			[]string{"kubelet.init.in-order"}},
		{"starts app containers after a failed init container", knownbad.KubeletIgnoringInitFailures, nil,
			[]string{"kubelet.init.failure-never"}},
		{"skips exec hooks (preStop, postStart)", knownbad.KubeletSkippingExecHooks, nil,
			[]string{"kubelet.hooks.pre-stop", "kubelet.hooks.post-start", "kubelet.hooks.pre-stop-liveness"}},
		{"stops sidecars together with the app containers", knownbad.KubeletStoppingSidecarsAtOnce, nil,
			[]string{"kubelet.sidecar.stop-order"}},
		{"counts the grace period only after the preStop hook", knownbad.KubeletWaitingForPreStop, nil,
			[]string{"kubelet.hooks.pre-stop-grace"}},
		{"cannot attach", knownbad.KubeletWithoutAttach, nil,
			[]string{"kubelet.attach.output"}},
		{"cannot port-forward", knownbad.KubeletWithoutPortForward, nil,
			[]string{"kubelet.portforward.spdy", "kubelet.portforward.websocket"}},
		{"serves its API to anyone", nil, knownbad.KubeletWithOpenAPI,
			[]string{"kubelet.api.anonymous-refused", "kubelet.api.authorized-per-node-subresource"}},
		{"lets any authenticated caller use its API", nil, knownbad.KubeletAuthorizingAnyUser,
			[]string{"kubelet.api.authorized-per-node-subresource"}},
		{"ignores dnsPolicy None and Default", knownbad.KubeletIgnoringDNSPolicy, nil,
			[]string{"kubelet.dns.none-uses-dns-config", "kubelet.dns.default-is-node"}},
		{"reports no container stats", knownbad.KubeletWithoutContainerStats, nil,
			[]string{"kubelet.stats.summary", "kubelet.stats.metrics-resource", "kubelet.metrics-api.pod"}},
		{"reports zero usage", knownbad.KubeletReportingZeroUsage, nil,
			[]string{"kubelet.stats.summary", "kubelet.metrics-api.pod"}},
		{"reports a probe success it did not see", knownbad.KubeletSeeingProbeSuccess, nil,
			[]string{"kubelet.probe.exec-timeout", "kubelet.probe.startup-gates-liveness", "kubelet.probe.termination-grace-override"}},
		{"reports a version newer than the API server", nil, knownbad.KubeletNewerThanAPIServer,
			[]string{"kubelet.node.version-skew"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := kubeletharness.InProcess(kubeletharness.Options{
				Name: "knownbad/" + c.name, WrapRuntime: c.wrap, Kubelet: c.config,
			})
			results := conformance.CheckKubeletSpecs(context.Background(), h, c.mustFail...)
			failed := map[string]bool{}
			for _, id := range results.Failed() {
				failed[id] = true
			}
			for _, id := range c.mustFail {
				if !failed[id] {
					t.Errorf("the suite did not reject the bug %q through %s", c.name, id)
				}
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("results:\n%s", results)
			}
		})
	}
}

// TestKubeletSuiteRejectsKubeletWithoutNodeEvents runs the node Event specs against a kubelet
// whose Events about its Node never reach the API server.
func TestKubeletSuiteRejectsKubeletWithoutNodeEvents(t *testing.T) {
	mustFail := []string{"kubelet.events.node-starting", "kubelet.events.node-ready"}
	h := kubeletharness.InProcess(kubeletharness.Options{
		Name: "knownbad/writes no node Events", WrapTransport: knownbad.KubeletWithoutNodeEvents,
	})
	results := conformance.CheckKubeletSpecs(context.Background(), h, mustFail...)
	failed := map[string]bool{}
	for _, id := range results.Failed() {
		failed[id] = true
	}
	for _, id := range mustFail {
		if !failed[id] {
			t.Errorf("the suite did not reject a kubelet writing no node Events through %s", id)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("results:\n%s", results)
	}
}
