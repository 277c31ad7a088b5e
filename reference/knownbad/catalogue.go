package knownbad

import (
	"context"
	"net/http"
	"sync"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	cri "k8s.io/cri-api/pkg/apis"

	"github.com/clusterkit/clusterkit/conformance"
	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver"
	"github.com/clusterkit/clusterkit/reference/apiserver/serviceaccount"
	"github.com/clusterkit/clusterkit/reference/controllers/inprocess"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
	"github.com/clusterkit/clusterkit/reference/dns"
	"github.com/clusterkit/clusterkit/reference/harness"
	"github.com/clusterkit/clusterkit/reference/kubelet"
	"github.com/clusterkit/clusterkit/reference/kubelet/kubeletharness"
	"github.com/clusterkit/clusterkit/reference/store/memory"
)

// Components returns the conformance components that have known-bad implementations, in the
// order Catalogue lists them (the names of clusterkit conformance --components).
func Components() []string {
	return []string{"store", "api", "auth", "scheduler", "controllers", "kubelet", "proxy", "dns"}
}

// Entry is one known-bad implementation and the specs that must reject it.
type Entry struct {
	// Component is the conformance component whose specs judge it (store, api, auth,
	// scheduler, controllers, kubelet, proxy, dns).
	Component string
	// Name says the bug in a few words.
	Name string
	// MustFail are the IDs of the specs aimed at the bug: each of them must fail.
	MustFail []string
	// MustPass are IDs of specs that must still pass against it (the bug is elsewhere): a
	// failure there means the harness is broken, not that the bug was caught.
	MustPass []string
	// Unavailable, when set, returns why the entry cannot run on this machine ("" when it can).
	Unavailable func() string

	check func(ctx context.Context, env *Env, ids []string) conformance.Results
}

// Specs returns the IDs Check must run to judge the entry: MustFail, then MustPass.
func (e Entry) Specs() []string {
	return append(append([]string(nil), e.MustFail...), e.MustPass...)
}

// Check runs the specs whose IDs are listed (every spec of the component when none is)
// against the reference implementation with this entry's bad part swapped in, and returns
// the results without failing anything.
func (e Entry) Check(ctx context.Context, env *Env, ids ...string) conformance.Results {
	return e.check(ctx, env, ids)
}

// Env holds what the harnesses of several entries share — the proxy lab, started on first
// use — for one run over the catalogue. The zero value is ready; Close ends it.
type Env struct {
	mu       sync.Mutex
	proxyLab *harness.ProxyLab
}

// ProxyLab returns the shared proxy lab (simulated runtime), making it on the first call.
func (e *Env) ProxyLab() *harness.ProxyLab {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proxyLab == nil {
		e.proxyLab = harness.NewProxyLab(harness.ProxyLabSimulated, harness.MemoryStore())
	}
	return e.proxyLab
}

// Close ends what the run started.
func (e *Env) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.proxyLab != nil {
		e.proxyLab.Close()
		e.proxyLab = nil
	}
}

// Catalogue returns every known-bad implementation with the specs that must reject it,
// component by component (in the order of Components). The package's tests and
// clusterkit conformance selftest both run this list.
func Catalogue() []Entry {
	var all []Entry
	all = append(all, storeEntries()...)
	all = append(all, apiEntries()...)
	all = append(all, authEntries()...)
	all = append(all, schedulerEntries()...)
	all = append(all, controllerEntries()...)
	all = append(all, kubeletEntries()...)
	all = append(all, proxyEntries()...)
	all = append(all, dnsEntries()...)
	return all
}

func storeEntries() []Entry {
	entry := func(name string, wrap func(interfaces.Store) interfaces.Store, mustFail ...string) Entry {
		return Entry{Component: "store", Name: name, MustFail: mustFail,
			check: func(ctx context.Context, _ *Env, ids []string) conformance.Results {
				return conformance.CheckStoreSpecs(ctx, conformance.StoreHarness{
					Name: "knownbad/" + name,
					Open: func(context.Context, string) (interfaces.Store, error) { return wrap(memory.New()), nil },
				}, ids...)
			}}
	}
	return []Entry{
		entry("update ignores the expected revision",
			func(s interfaces.Store) interfaces.Store { return StoreIgnoringRevision{Store: s} },
			"store.update.compare-and-swap", "store.update.concurrent-writers", "store.delete.precondition"),
		entry("watch drops events",
			func(s interfaces.Store) interfaces.Store { return StoreDroppingWatchEvents{Store: s} },
			"store.watch.order"),
		entry("watch reorders events",
			func(s interfaces.Store) interfaces.Store { return StoreReorderingWatchEvents{Store: s} },
			"store.watch.order", "store.watch.resume"),
		entry("list is not at a single revision",
			func(s interfaces.Store) interfaces.Store { return StoreListingAcrossRevisions{Store: s} },
			"store.list.at-revision", "store.list.pagination"),
	}
}

func apiEntries() []Entry {
	wrapped := func(name string, wrap func(http.Handler) http.Handler, mustFail ...string) Entry {
		return Entry{Component: "api", Name: name, MustFail: mustFail,
			check: func(ctx context.Context, _ *Env, ids []string) conformance.Results {
				return conformance.CheckAPISpecs(ctx, harness.WrappedAPI("knownbad/"+name, harness.MemoryStore(), wrap), ids...)
			}}
	}
	return []Entry{
		wrapped("accepts stale writes", APIAcceptingStaleWrites,
			"api.update.stale-resource-version"),
		wrapped("ignores fieldValidation", APIIgnoringFieldValidation,
			"api.validation.strict-fields", "api.crd.strict-fields"),
		wrapped("status writes go to the main resource", APIWritingStatusThroughMain,
			"api.subresource.status-isolation", "api.crd.status-subresource"),
		wrapped("never prunes custom resources", APIPreservingUnknownFields,
			"api.crd.pruning", "api.crd.strict-fields"),
		wrapped("ignores CEL rules of CRDs", APIIgnoringCELRules,
			"api.crd.cel-validation"),
		wrapped("ignores conversion webhooks", APIIgnoringConversionWebhooks,
			"api.crd.conversion-webhook", "api.crd.conversion-webhook-storage", "api.crd.conversion-webhook-down"),
		wrapped("evicts whatever the budget says", APIEvictionIgnoringBudgets,
			"api.eviction.pdb-blocks"),
		wrapped("drops watch events", APIDroppingWatchEvents,
			"api.watch.from-resource-version", "api.watch.informer"),
		wrapped("ignores delete preconditions", APIIgnoringDeletePreconditions,
			"api.delete.preconditions"),
		wrapped("lists the latest state whatever resourceVersion asks", APIListingLatestForExact,
			"api.list.exact", "api.list.options-validation"),
		wrapped("writes no-op updates", APIWritingNoOpUpdates,
			"api.update.no-op"),
		{Component: "api", Name: "sends no bookmark before a watch times out",
			MustFail: []string{"api.watch.bookmark-before-timeout"},
			MustPass: []string{"api.watch.initial-events"},
			check: func(ctx context.Context, _ *Env, ids []string) conformance.Results {
				return conformance.CheckAPISpecs(ctx, harness.WrappedAPI("knownbad/sends no bookmark before a watch times out", harness.MemoryStore(), APIWithoutPeriodicBookmarks), ids...)
			}},
		wrapped("ignores Accept on writes", APIIgnoringAccept,
			"api.wire.table-not-acceptable", "api.wire.unknown-media-type"),
		wrapped("forces every apply", APIForcingEveryApply,
			"api.apply.conflict"),
		wrapped("replaces objects on update", APIReplacingOnUpdate,
			"api.pv.source-immutable", "api.pvc.spec-immutable", "api.storageclass.immutable", "api.csidriver.attach-immutable", "api.ingressclass.controller-immutable"),
		wrapped("applies no defaults on create", APIWithoutCreateDefaults,
			"api.pv.defaults", "api.storageclass.defaults", "api.csidriver.attach-immutable", "api.networkpolicy.defaults", "api.hpa.defaults"),
		wrapped("answers invalid creates with success", APIAcceptingInvalidCreates,
			"api.pvc.storage-required", "api.ingress.backend-required", "api.hpa.validation", "api.clustertrustbundle.validation"),
		wrapped("serves no storage or networking group", APIWithoutStorageAndNetworking,
			"api.builtin.discovery"),
		wrapped("registers no local APIServices", APIWithoutLocalAPIServices,
			"api.apiservice.local"),
		wrapped("drops the default-class annotations", APIDroppingDefaultClassAnnotations,
			"api.storageclass.default-class", "api.ingressclass.default-class"),
		wrapped("reports a version its fields disagree with", APIVersionFieldsDisagreeing,
			"api.version.semver"),
		wrapped("answers health without checks", APIHealthWithoutChecks,
			"api.health.verbose"),
		wrapped("counts no requests in /metrics", APIMetricsFrozen,
			"api.metrics.requests"),
		{Component: "api", Name: "resize writes the whole pod",
			MustFail: []string{"api.pod.resize-only-resources", "api.pod.resize-qos-unchanged"},
			check: func(ctx context.Context, _ *Env, ids []string) conformance.Results {
				return conformance.CheckAPISpecs(ctx, harness.InProcessAPIWithResources("knownbad/resize writes the whole pod", harness.MemoryStore(), APIResizingWholePod), ids...)
			}},
		{Component: "api", Name: "aggregation as itself",
			MustFail: []string{"api.aggregation.proxy-identity"},
			MustPass: []string{"api.aggregation.front-proxy-certificate"},
			check: func(ctx context.Context, _ *Env, ids []string) conformance.Results {
				return conformance.CheckAPISpecs(ctx, harness.InProcessAPIWithAggregation("knownbad/aggregation as itself", harness.MemoryStore(), AggregationAsItself), ids...)
			}},
		{Component: "api", Name: "quota ignoring hard",
			MustFail: []string{"api.resourcequota.exceeded"},
			MustPass: []string{"api.resourcequota.status-used"},
			check: func(ctx context.Context, _ *Env, ids []string) conformance.Results {
				return conformance.CheckAPISpecs(ctx, harness.InProcessAPIWithQuota("knownbad/quota ignoring hard", harness.MemoryStore(), QuotaAdmissionIgnoringHard), ids...)
			}},
	}
}

// access adapts a change of the server's Access to one of its configuration.
func access(modify func(*apiserver.Access)) func(*apiserver.Config) {
	return func(c *apiserver.Config) { modify(&c.Access) }
}

func authEntries() []Entry {
	entry := func(name string, build func(name string) conformance.AuthHarness, mustFail ...string) Entry {
		return Entry{Component: "auth", Name: name, MustFail: mustFail,
			check: func(ctx context.Context, _ *Env, ids []string) conformance.Results {
				return conformance.CheckAuthSpecs(ctx, build("knownbad/"+name), ids...)
			}}
	}
	modified := func(modify func(*apiserver.Config)) func(string) conformance.AuthHarness {
		return func(name string) conformance.AuthHarness {
			return harness.ModifiedAuth(name, harness.MemoryStore(), modify)
		}
	}
	protected := func(configure func(*apiserver.Config)) func(string) conformance.AuthHarness {
		return func(name string) conformance.AuthHarness {
			return harness.InProcessProtectedAPI(name, harness.MemoryStore(), configure)
		}
	}
	wrappedProtected := func(wrap func(http.Handler) http.Handler) func(string) conformance.AuthHarness {
		return func(name string) conformance.AuthHarness {
			return harness.WrappedProtectedAPI(name, harness.MemoryStore(), wrap)
		}
	}
	return []Entry{
		entry("lets anonymous write", modified(access(AuthAnonymousWrites)),
			"auth.authn.anonymous-resources-rejected"),
		entry("treats bad credentials as anonymous", modified(access(AuthBadCredentialsAnonymous)),
			"auth.authn.invalid-token-401"),
		entry("trusts any client certificate", modified(access(AuthTrustingAnyClientCert)),
			"auth.authn.foreign-client-cert"),
		entry("authorizes kubelets by the system:node role alone", modified(AuthNodesByRoleAlone),
			"auth.node.secret-through-pods"),
		entry("has no NodeRestriction", modified(AuthWithoutNodeRestriction),
			"auth.node.own-node-only", "auth.node.taints-immutable", "auth.node.mirror-pods-only", "auth.node.foreign-pods", "auth.node.token-bound-to-own-pod", "auth.pcr.node-own-pods"),
		entry("lets anyone issue PodCertificateRequests", modified(AuthWithoutSignerCheck),
			"auth.pcr.sign-permission"),
		entry("calls validating webhooks before mutating ones", modified(AdmissionValidatingBeforeMutating),
			"auth.admission.mutating-before-validating"),
		entry("ignores Pod Security labels", protected(APIIgnoringPodSecurity),
			"auth.podsecurity.enforce-baseline", "auth.podsecurity.enforce-restricted", "auth.podsecurity.warn"),
		entry("has no ServiceAccount admission", protected(APIWithoutServiceAccountAdmission),
			"auth.serviceaccount.default-name", "auth.serviceaccount.token-volume", "auth.serviceaccount.automount-false", "auth.serviceaccount.missing-rejected"),
		entry("stores Secrets in plain text", protected(APIStoringSecretsInPlainText),
			"auth.encryption.secret-not-in-stored-bytes"),
		entry("ignores dryRun", wrappedProtected(APIIgnoringDryRun),
			"auth.dryrun.all-stores-nothing"),
		entry("accepts any dryRun", wrappedProtected(APIAcceptingAnyDryRun),
			"auth.dryrun.only-all"),
		entry("ignores a negative tailLines", wrappedProtected(APIIgnoringNegativeTailLines),
			"auth.podlog.negative-tail-lines"),
		entry("rbac ignores the RoleBinding's namespace",
			func(name string) conformance.AuthHarness {
				return harness.RBACAuth(name, harness.MemoryStore(), RBACIgnoringRoleBindingNamespace)
			},
			"auth.rbac.rolebinding-namespace", "auth.rbac.clusterrole-in-rolebinding"),
		entry("tokens trusting their signature",
			func(name string) conformance.AuthHarness {
				wrap := func(a *serviceaccount.Authenticator) authenticator.Token { return TokensTrustingSignature(a) }
				return harness.TokenAuthAPI(name, harness.MemoryStore(), wrap)
			},
			"auth.tokens.pod-bound-revoked", "auth.tokens.secret-bound-revoked", "auth.tokens.serviceaccount-recreated"),
	}
}

// startComponent starts a built component and returns how to stop it.
func startComponent(build func(*rest.Config, string) (interfaces.Component, error)) func(context.Context, *rest.Config, string) (func(), error) {
	return func(_ context.Context, cfg *rest.Config, name string) (func(), error) {
		c, err := build(cfg, name)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = c.Run(ctx)
		}()
		return func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
			}
		}, nil
	}
}

func schedulerEntries() []Entry {
	entry := func(name string, build func(*rest.Config, string) (interfaces.Component, error), mustFail ...string) Entry {
		return Entry{Component: "scheduler", Name: name, MustFail: mustFail,
			check: func(ctx context.Context, _ *Env, ids []string) conformance.Results {
				return conformance.CheckScheduler(ctx, conformance.SchedulerHarness{
					Name:        "knownbad/" + name,
					Cluster:     harness.PolicyCluster(harness.MemoryStore()),
					Start:       startComponent(build),
					Scoring:     interfaces.LeastAllocated,
					Preemption:  true,
					Focus:       ids,
					SpecTimeout: 20 * time.Second,
				})
			}}
	}
	return []Entry{
		entry("ignores memory", SchedulerIgnoringMemory, "scheduler.fit.requests"),
		entry("ignores already-bound pods", SchedulerIgnoringBoundPods, "scheduler.fit.bound-pods", "scheduler.fit.pod-count", "scheduler.pending.unschedulable"),
		entry("ignores taints", SchedulerIgnoringTaints, "scheduler.taints.tolerations", "scheduler.taints.control-plane"),
		entry("ignores nodeSelector and node affinity", SchedulerIgnoringNodeSelector, "scheduler.affinity.node-selector", "scheduler.affinity.required"),
		entry("double-books under a burst", SchedulerDoubleBooking, "scheduler.fit.burst"),
		entry("schedules pods of another schedulerName", SchedulerOfAnyName, "scheduler.name.own-pods-only"),
		entry("writes no Events", SchedulerWithoutEvents, "scheduler.events.scheduled", "scheduler.events.failed-scheduling"),
		entry("preempts pods of equal priority", SchedulerPreemptingEqualPriority, "scheduler.preemption.lower-only"),
		entry("host ports by number only", SchedulerPortsByNumber, "scheduler.ports.host-ports"),
		entry("taint score not normalized", SchedulerUnnormalizedTaintScore, "scheduler.score.default-weights"),
		entry("scores best-effort pods as requesting nothing", SchedulerScoringStatedRequests, "scheduler.score.nonzero-defaults"),
		entry("never preempts", SchedulerWithoutPreemption, "scheduler.preemption.basic", "scheduler.preemption.minimal-victims", "scheduler.preemption.pdb"),
		entry("ignores existing pods' anti-affinity", SchedulerIgnoringExistingAntiAffinity, "scheduler.pod-affinity.symmetry"),
		entry("spreads counting pods of every namespace", SchedulerSpreadingAcrossNamespaces, "scheduler.spread.own-namespace"),
		entry("spreads ignoring minDomains", SchedulerIgnoringMinDomains, "scheduler.spread.min-domains"),
		entry("spreads without retrying on pod changes", SchedulerSpreadWithoutPodRetry, "scheduler.spread.queue-pod-bound"),
	}
}

func controllerEntries() []Entry {
	// Each replaces one reference controller and runs with a short patience.
	entry := func(name, replace string, factory runner.Factory, mustFail ...string) Entry {
		return Entry{Component: "controllers", Name: name, MustFail: mustFail,
			check: func(ctx context.Context, _ *Env, ids []string) conformance.Results {
				h := inprocess.Harness(inprocess.Options{
					Name:    "knownbad/" + name,
					Replace: map[string]runner.Factory{replace: factory},
				})
				h.Focus = ids
				h.Patience = 15 * time.Second
				return conformance.CheckControllers(ctx, h)
			}}
	}
	return []Entry{
		entry("ReplicaSet overshoots", "replicaset", OvershootingReplicaSet(),
			"controllers.replicaset.scale-exact"),
		entry("ReplicaSet never adopts", "replicaset", NonAdoptingReplicaSet(),
			"controllers.replicaset.adopts-orphans"),
		entry("Deployment replaces every pod at once", "deployment", AllAtOnceDeployment(),
			"controllers.deployment.rolling-update-bounds"),
		entry("Deployment drops failed syncs", "deployment", ErrorDroppingDeployment(),
			"controllers.deployment.scale-refused", "controllers.deployment.history-delete-refused"),
		entry("ReplicaSet drops failed syncs", "replicaset", ErrorDroppingReplicaSet(),
			"controllers.replicaset.create-refused", "controllers.replicaset.delete-refused"),
		entry("node controller never evicts", "nodelifecycle", NonEvictingNodeLifecycle(),
			"controllers.nodelifecycle.eviction"),
		entry("node controller never deletes dead nodes", "nodelifecycle", NeverDeletingNodeLifecycle(),
			"controllers.nodelifecycle.deletes-dead-nodes"),
		entry("node controller records no Events", "nodelifecycle", SilentNodeLifecycle(),
			"controllers.events.node-lifecycle"),
		entry("node controller deletes nodes by the age of their status", "nodelifecycle", StatusAgeNodeLifecycle(inprocess.NodeDeletionGrace),
			"controllers.nodelifecycle.keeps-live-nodes"),
		entry("garbage collector orphans by default", "garbagecollector", OrphaningGarbageCollector(),
			"controllers.gc.default-cascades", "controllers.gc.background"),
		entry("ServiceAccount controller acts once per namespace", "serviceaccount", OnceOnlyServiceAccount(),
			"controllers.serviceaccount.recreated"),
		entry("DaemonSet ignores taints", "daemonset", TaintBlindDaemonSet(),
			"controllers.daemonset.untolerated-taint"),
		entry("Job ignores backoffLimit", "job", RetryingForeverJob(),
			"controllers.job.backoff-limit"),
		entry("Job ignores parallelism", "job", AllAtOnceJob(),
			"controllers.job.parallelism"),
		entry("root CA publisher never repairs an edit", "root-ca-cert-publisher", CreateOnlyRootCAPublisher(),
			"controllers.rootca.restored"),
		entry("Endpoints list not-ready pods as ready", "endpoint", AllReadyEndpoints(),
			"controllers.endpoints.subsets"),
		entry("node IPAM gives every node the same CIDR", "nodeipam", SameCIDRNodeIPAM(),
			"controllers.nodeipam.allocates", "controllers.nodeipam.respects-existing"),
		entry("pod GC deletes pods on existing nodes", "podgc", BlindPodGC(),
			"controllers.podgc.orphaned"),
		entry("pod GC never deletes orphans", "podgc", OrphanKeepingPodGC(),
			"controllers.podgc.orphaned"),
	}
}

func kubeletEntries() []Entry {
	entry := func(name string, opts kubeletharness.Options, mustFail ...string) Entry {
		return Entry{Component: "kubelet", Name: name, MustFail: mustFail,
			check: func(ctx context.Context, _ *Env, ids []string) conformance.Results {
				o := opts
				o.Name = "knownbad/" + name
				return conformance.CheckKubeletSpecs(ctx, kubeletharness.InProcess(o), ids...)
			}}
	}
	runtime := func(wrap func(cri.RuntimeService) cri.RuntimeService) kubeletharness.Options {
		return kubeletharness.Options{WrapRuntime: wrap}
	}
	config := func(configure func(*kubelet.Config)) kubeletharness.Options {
		return kubeletharness.Options{Kubelet: configure}
	}
	return []Entry{
		entry("never restarts", runtime(KubeletNeverRestarting),
			"kubelet.restart.crash-loop-backoff", "kubelet.restart.on-failure", "kubelet.probe.liveness-restarts"),
		entry("restarts without back-off", config(KubeletWithoutBackoff),
			"kubelet.restart.crash-loop-backoff"),
		entry("reports Running before the container starts", runtime(KubeletReportingRunningEarly(6*time.Second)),
			"kubelet.pod.running-means-started"),
		entry("mounts no volumes and passes no environment", runtime(KubeletWithoutVolumes),
			"kubelet.volumes.secret-file-and-env", "kubelet.volumes.projected-token", "kubelet.volumes.emptydir-shared", "kubelet.volumes.pod-certificate"),
		// A change of the pod's labels brings its downward API files up to date at once (as
		// upstream's kubelet syncs a pod on every update of it), whatever VolumeResync says: this
		// known-bad stales only what the periodic re-sync refreshes.
		entry("mounts a stale configMap forever", config(KubeletWithStaleVolumes),
			"kubelet.volumes.configmap-update"),
		entry("injects no Service environment variables", runtime(KubeletWithoutServiceLinks),
			"kubelet.env.service-variables"),
		entry("ignores the grace period", runtime(KubeletIgnoringGracePeriod),
			"kubelet.termination.grace-period", "kubelet.termination.delete-grace-override"),
		entry("ignores runAsUser and capabilities", runtime(KubeletIgnoringSecurityContext),
			"kubelet.security.run-as-user", "kubelet.security.capabilities"),
		entry("ignores privileged, read-only root, no_new_privs and seccomp", runtime(KubeletIgnoringPrivilegeSettings),
			"kubelet.security.privileged", "kubelet.security.read-only-root", "kubelet.security.no-new-privs", "kubelet.security.seccomp"),
		entry("ignores hostPID and shareProcessNamespace", runtime(KubeletIgnoringHostPID),
			"kubelet.security.pid-namespace"),
		entry("runs init containers in parallel", runtime(KubeletNotAwaitingInitContainers),
			"kubelet.init.in-order"),
		entry("starts app containers after a failed init container", runtime(KubeletIgnoringInitFailures),
			"kubelet.init.failure-never"),
		entry("skips exec hooks (preStop, postStart)", runtime(KubeletSkippingExecHooks),
			"kubelet.hooks.pre-stop", "kubelet.hooks.post-start", "kubelet.hooks.pre-stop-liveness"),
		entry("stops sidecars together with the app containers", runtime(KubeletStoppingSidecarsAtOnce),
			"kubelet.sidecar.stop-order"),
		entry("counts the grace period only after the preStop hook", runtime(KubeletWaitingForPreStop),
			"kubelet.hooks.pre-stop-grace"),
		entry("cannot attach", runtime(KubeletWithoutAttach),
			"kubelet.attach.output"),
		entry("cannot port-forward", runtime(KubeletWithoutPortForward),
			"kubelet.portforward.spdy", "kubelet.portforward.websocket"),
		entry("serves its API to anyone", config(KubeletWithOpenAPI),
			"kubelet.api.anonymous-refused", "kubelet.api.authorized-per-node-subresource"),
		entry("lets any authenticated caller use its API", config(KubeletAuthorizingAnyUser),
			"kubelet.api.authorized-per-node-subresource"),
		entry("ignores dnsPolicy None and Default", runtime(KubeletIgnoringDNSPolicy),
			"kubelet.dns.none-uses-dns-config", "kubelet.dns.default-is-node"),
		entry("reports no container stats", runtime(KubeletWithoutContainerStats),
			"kubelet.stats.summary", "kubelet.stats.metrics-resource", "kubelet.metrics-api.pod"),
		entry("reports zero usage", runtime(KubeletReportingZeroUsage),
			"kubelet.stats.summary", "kubelet.metrics-api.pod"),
		entry("reports a probe success it did not see", runtime(KubeletSeeingProbeSuccess),
			"kubelet.probe.exec-timeout", "kubelet.probe.startup-gates-liveness", "kubelet.probe.termination-grace-override"),
		entry("reports a version newer than the API server", config(KubeletNewerThanAPIServer),
			"kubelet.node.version-skew"),
		entry("writes no node Events", kubeletharness.Options{WrapTransport: KubeletWithoutNodeEvents},
			"kubelet.events.node-starting", "kubelet.events.node-ready"),
		entry("reports a resize without applying it", runtime(KubeletNotApplyingResize),
			"kubelet.resize.applied"),
		entry("resizes past the node's allocatable", kubeletharness.Options{WrapTransport: KubeletResizingPastAllocatable},
			"kubelet.resize.infeasible"),
	}
}

// wrapNFTables makes a dataplane factory that wraps the reference dataplane.
func wrapNFTables(wrap func(interfaces.ProxyDataplane) interfaces.ProxyDataplane) harness.ProxyDataplaneFactory {
	return func(ns string) interfaces.ProxyDataplane { return wrap(harness.NFTablesDataplane(ns)) }
}

func proxyEntries() []Entry {
	// The pods run on the simulated runtime with real network namespaces (needs root), in one
	// lab shared through the Env.
	entry := func(name string, dp harness.ProxyDataplaneFactory, mustFail ...string) Entry {
		return Entry{Component: "proxy", Name: name, MustFail: mustFail,
			Unavailable: func() string { return harness.ProxyLabUnavailable(harness.ProxyLabSimulated) },
			check: func(ctx context.Context, env *Env, ids []string) conformance.Results {
				h := env.ProxyLab().Harness("knownbad/"+name, dp)
				h.Focus = ids
				h.ConvergeTimeout = 5 * time.Second // the reference converges in well under a second
				return conformance.CheckProxy(ctx, h)
			}}
	}
	return []Entry{
		entry("sends to not-ready endpoints",
			wrapNFTables(func(d interfaces.ProxyDataplane) interfaces.ProxyDataplane {
				return ProxySendingToNotReady{Dataplane: d}
			}),
			"proxy.clusterip.ready-backends", "proxy.clusterip.not-ready", "proxy.nodeport.node-address"),
		entry("never removes deleted endpoints",
			wrapNFTables(func(d interfaces.ProxyDataplane) interfaces.ProxyDataplane { return NewProxyKeepingDeletedEndpoints(d) }),
			"proxy.clusterip.deleted-endpoint", "proxy.clusterip.no-endpoints"),
		entry("ignores the port mapping",
			wrapNFTables(func(d interfaces.ProxyDataplane) interfaces.ProxyDataplane {
				return ProxyIgnoringPortMapping{Dataplane: d}
			}),
			"proxy.clusterip.ready-backends", "proxy.clusterip.port-mapping"),
		entry("ignores session affinity",
			wrapNFTables(func(d interfaces.ProxyDataplane) interfaces.ProxyDataplane {
				return ProxyIgnoringAffinity{Dataplane: d}
			}),
			"proxy.affinity.client-ip"),
		entry("ignores externalTrafficPolicy Local",
			wrapNFTables(func(d interfaces.ProxyDataplane) interfaces.ProxyDataplane {
				return ProxyIgnoringExternalTrafficPolicy{Dataplane: d}
			}),
			"proxy.nodeport.external-local"),
		entry("trusts the rules left from before a restart", NewProxyTrustingLeftoverRules,
			"proxy.restart.catch-up"),
		entry("no hairpin masquerade", ProxyWithoutHairpin,
			"proxy.clusterip.hairpin"),
	}
}

func dnsEntries() []Entry {
	entry := func(name string, server harness.DNSServerFactory, mustFail ...string) Entry {
		return Entry{Component: "dns", Name: name, MustFail: mustFail,
			check: func(ctx context.Context, _ *Env, ids []string) conformance.Results {
				h := harness.InProcessDNS("knownbad/"+name, harness.MemoryStore(), server)
				h.Focus = ids
				h.ConvergeTimeout = 3 * time.Second // the reference answers a change within a TTL (1 s here)
				return conformance.CheckDNS(ctx, h)
			}}
	}
	return []Entry{
		entry("caches answers forever (stale Service IPs)",
			func(c kubernetes.Interface, cfg dns.Config) harness.DNSServer {
				return NewDNSCachingForever(dns.New(c, cfg))
			},
			"dns.service.recreated", "dns.headless.follows-endpoints"),
		entry("answers NXDOMAIN for NODATA",
			func(c kubernetes.Interface, cfg dns.Config) harness.DNSServer {
				return DNSNXDomainForNoData{Inner: dns.New(c, cfg)}
			},
			"dns.service.nodata"),
		entry("publishes not-ready endpoints",
			func(c kubernetes.Interface, cfg dns.Config) harness.DNSServer {
				return NewDNSPublishingNotReady(c, cfg)
			},
			"dns.headless.ready-endpoints", "dns.headless.follows-endpoints"),
	}
}
