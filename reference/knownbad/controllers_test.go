package knownbad_test

import (
	"context"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/controllers/inprocess"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestControllerSuiteRejectsKnownBadControllers replaces one reference
// controller at a time with a known-bad one and asserts that the specs aimed
// at its bug fail. Only those specs run (Focus), with a short patience.
func TestControllerSuiteRejectsKnownBadControllers(t *testing.T) {
	cases := []struct {
		name     string
		replace  string
		factory  runner.Factory
		mustFail []string
	}{
		{"ReplicaSet overshoots", "replicaset", knownbad.OvershootingReplicaSet(),
			[]string{"controllers.replicaset.scale-exact"}},
		{"ReplicaSet never adopts", "replicaset", knownbad.NonAdoptingReplicaSet(),
			[]string{"controllers.replicaset.adopts-orphans"}},
		{"Deployment replaces every pod at once", "deployment", knownbad.AllAtOnceDeployment(),
			[]string{"controllers.deployment.rolling-update-bounds"}},
		{"node controller never evicts", "nodelifecycle", knownbad.NonEvictingNodeLifecycle(),
			[]string{"controllers.nodelifecycle.eviction"}},
		{"node controller never deletes dead nodes", "nodelifecycle", knownbad.NeverDeletingNodeLifecycle(),
			[]string{"controllers.nodelifecycle.deletes-dead-nodes"}},
		{"node controller records no Events", "nodelifecycle", knownbad.SilentNodeLifecycle(),
			[]string{"controllers.events.node-lifecycle"}},
		{"node controller deletes nodes by the age of their status", "nodelifecycle", knownbad.StatusAgeNodeLifecycle(inprocess.NodeDeletionGrace),
			[]string{"controllers.nodelifecycle.keeps-live-nodes"}},
		{"garbage collector orphans by default", "garbagecollector", knownbad.OrphaningGarbageCollector(),
			[]string{"controllers.gc.default-cascades", "controllers.gc.background"}},
		{"ServiceAccount controller acts once per namespace", "serviceaccount", knownbad.OnceOnlyServiceAccount(),
			[]string{"controllers.serviceaccount.recreated"}},
		{"DaemonSet ignores taints", "daemonset", knownbad.TaintBlindDaemonSet(),
			[]string{"controllers.daemonset.untolerated-taint"}},
		{"Job ignores backoffLimit", "job", knownbad.RetryingForeverJob(),
			[]string{"controllers.job.backoff-limit"}},
		{"Job ignores parallelism", "job", knownbad.AllAtOnceJob(),
			[]string{"controllers.job.parallelism"}},
		{"root CA publisher never repairs an edit", "root-ca-cert-publisher", knownbad.CreateOnlyRootCAPublisher(),
			[]string{"controllers.rootca.restored"}},
		{"Endpoints list not-ready pods as ready", "endpoint", knownbad.AllReadyEndpoints(),
			[]string{"controllers.endpoints.subsets"}},
		{"node IPAM gives every node the same CIDR", "nodeipam", knownbad.SameCIDRNodeIPAM(),
			[]string{"controllers.nodeipam.allocates", "controllers.nodeipam.respects-existing"}},
		{"pod GC deletes pods on existing nodes", "podgc", knownbad.BlindPodGC(),
			[]string{"controllers.podgc.orphaned"}},
		{"pod GC never deletes orphans", "podgc", knownbad.OrphanKeepingPodGC(),
			[]string{"controllers.podgc.orphaned"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := inprocess.Harness(inprocess.Options{
				Name:    "knownbad/" + c.name,
				Replace: map[string]runner.Factory{c.replace: c.factory},
			})
			h.Focus = c.mustFail
			h.Patience = 15 * time.Second
			results := conformance.CheckControllers(context.Background(), h)
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
