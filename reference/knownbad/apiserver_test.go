package knownbad_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/knownbad"
)

// TestAPISuiteRejectsKnownBadServers runs the API suite against API servers
// with one bug each and asserts that the specs aimed at the bug fail.
func TestAPISuiteRejectsKnownBadServers(t *testing.T) {
	cases := []struct {
		name     string
		wrap     func(http.Handler) http.Handler
		mustFail []string
	}{
		{"accepts stale writes", knownbad.APIAcceptingStaleWrites,
			[]string{"api.update.stale-resource-version"}},
		{"ignores fieldValidation", knownbad.APIIgnoringFieldValidation,
			[]string{"api.validation.strict-fields", "api.crd.strict-fields"}},
		{"status writes go to the main resource", knownbad.APIWritingStatusThroughMain,
			[]string{"api.subresource.status-isolation", "api.crd.status-subresource"}},
		{"never prunes custom resources", knownbad.APIPreservingUnknownFields,
			[]string{"api.crd.pruning", "api.crd.strict-fields"}},
		{"ignores CEL rules of CRDs", knownbad.APIIgnoringCELRules,
			[]string{"api.crd.cel-validation"}},
		{"ignores conversion webhooks", knownbad.APIIgnoringConversionWebhooks,
			[]string{"api.crd.conversion-webhook", "api.crd.conversion-webhook-storage", "api.crd.conversion-webhook-down"}},
		{"evicts whatever the budget says", knownbad.APIEvictionIgnoringBudgets,
			[]string{"api.eviction.pdb-blocks"}},
		{"drops watch events", knownbad.APIDroppingWatchEvents,
			[]string{"api.watch.from-resource-version", "api.watch.informer"}},
		{"ignores Accept on writes", knownbad.APIIgnoringAccept,
			[]string{"api.wire.table-not-acceptable", "api.wire.unknown-media-type"}},
		{"forces every apply", knownbad.APIForcingEveryApply,
			[]string{"api.apply.conflict"}},
		{"replaces objects on update", knownbad.APIReplacingOnUpdate,
			[]string{"api.pv.source-immutable", "api.pvc.spec-immutable", "api.storageclass.immutable", "api.csidriver.attach-immutable", "api.ingressclass.controller-immutable"}},
		{"applies no defaults on create", knownbad.APIWithoutCreateDefaults,
			[]string{"api.pv.defaults", "api.storageclass.defaults", "api.csidriver.attach-immutable", "api.networkpolicy.defaults", "api.hpa.defaults"}},
		{"answers invalid creates with success", knownbad.APIAcceptingInvalidCreates,
			[]string{"api.pvc.storage-required", "api.ingress.backend-required", "api.hpa.validation", "api.clustertrustbundle.validation"}},
		{"serves no storage or networking group", knownbad.APIWithoutStorageAndNetworking,
			[]string{"api.builtin.discovery"}},
		{"registers no local APIServices", knownbad.APIWithoutLocalAPIServices,
			[]string{"api.apiservice.local"}},
		{"drops the default-class annotations", knownbad.APIDroppingDefaultClassAnnotations,
			[]string{"api.storageclass.default-class", "api.ingressclass.default-class"}},
		{"reports a version its fields disagree with", knownbad.APIVersionFieldsDisagreeing,
			[]string{"api.version.semver"}},
		{"answers health without checks", knownbad.APIHealthWithoutChecks,
			[]string{"api.health.verbose"}},
		{"counts no requests in /metrics", knownbad.APIMetricsFrozen,
			[]string{"api.metrics.requests"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			results := conformance.CheckAPISpecs(context.Background(), harness.WrappedAPI("knownbad/"+c.name, harness.MemoryStore(), c.wrap), c.mustFail...)
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
