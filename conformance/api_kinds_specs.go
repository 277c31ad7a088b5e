package conformance

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"time"

	"github.com/onsi/gomega"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
)

// Sources of the storage, networking and autoscaling behaviours.
const (
	srcPV           = "Kubernetes: Persistent Volumes (kubernetes.io/docs/concepts/storage/persistent-volumes), pkg/apis/core/validation ValidatePersistentVolumeUpdate, ValidatePersistentVolumeClaimUpdate"
	srcStorageAPI   = "Kubernetes: Storage Classes (kubernetes.io/docs/concepts/storage/storage-classes), pkg/apis/storage/validation, pkg/apis/storage/v1/defaults.go"
	srcIngress      = "Kubernetes: Ingress (kubernetes.io/docs/concepts/services-networking/ingress), pkg/apis/networking/validation"
	srcNetPol       = "Kubernetes: Network Policies (kubernetes.io/docs/concepts/services-networking/network-policies), pkg/apis/networking/v1/defaults.go"
	srcHPAV1        = "Kubernetes API: HorizontalPodAutoscaler v1 and v2 (kubernetes.io/docs/reference/kubernetes-api/workload-resources/horizontal-pod-autoscaler-v1), pkg/apis/autoscaling/v1/conversion.go (round-trip annotations)"
	srcEventsAPI    = "Kubernetes API: Event events.k8s.io/v1 (kubernetes.io/docs/reference/kubernetes-api/cluster-resources/event-v1), pkg/apis/events/v1/conversion.go, pkg/apis/core/validation/events.go ValidateEventCreate"
	srcHPA          = "Kubernetes: Horizontal Pod Autoscaling (kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale), pkg/apis/autoscaling/v2/defaults.go, pkg/apis/autoscaling/validation"
	srcAPIService   = "Kubernetes: Extending the Kubernetes API with the aggregation layer (kubernetes.io/docs/concepts/extend-kubernetes/api-extension/apiserver-aggregation), pkg/controlplane/apiserver/aggregator.go (local APIServices of the built-in group-versions)"
	srcCTB          = "Kubernetes: ClusterTrustBundles (kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/#cluster-trust-bundles), pkg/apis/certificates/validation"
	srcDefaultClass = "Kubernetes admission controllers: DefaultStorageClass and DefaultIngressClass (kubernetes.io/docs/reference/access-authn-authz/admission-controllers)"
	srcBuiltinDisc  = "Kubernetes: Discovering cluster resources (kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api), test/e2e/apimachinery/aggregated_discovery.go"
)

// apiKindSpecs are the API specs of PersistentVolumes and claims, storage.k8s.io,
// networking.k8s.io and autoscaling/v2.
func apiKindSpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.builtin.discovery", "discovery MUST list autoscaling/v2 and autoscaling/v1 horizontalpodautoscalers, networking.k8s.io/v1 ingresses, ingressclasses and networkpolicies, storage.k8s.io/v1 storageclasses, csidrivers, csinodes, volumeattachments and csistoragecapacities, and core/v1 persistentvolumes and persistentvolumeclaims", srcBuiltinDisc), specBuiltinDiscovery},
		{api("api.pv.defaults", "a PersistentVolume created without reclaim policy or volume mode MUST be returned with persistentVolumeReclaimPolicy Retain, volumeMode Filesystem and status.phase Pending", srcPV), specPVDefaults},
		{api("api.pv.source-immutable", "an update that changes a PersistentVolume's volume source MUST be rejected with 422 naming spec.persistentvolumesource", srcPV), specPVSourceImmutable},
		{api("api.pvc.spec-immutable", "an update that changes the accessModes of a PersistentVolumeClaim MUST be rejected with 422 naming spec", srcPV), specPVCSpecImmutable},
		{api("api.pvc.storage-required", "a PersistentVolumeClaim without a storage request MUST be rejected with 422 naming spec.resources[storage], and store nothing", srcPV), specPVCStorageRequired},
		{api("api.storageclass.defaults", "a StorageClass created without reclaimPolicy or volumeBindingMode MUST be returned with reclaimPolicy Delete and volumeBindingMode Immediate", srcStorageAPI), specStorageClassDefaults},
		{api("api.storageclass.immutable", "an update that changes a StorageClass's provisioner or parameters MUST be rejected with 422 naming provisioner or parameters", srcStorageAPI), specStorageClassImmutable},
		{api("api.storageclass.default-class", "a PersistentVolumeClaim created without storageClassName MUST get the newest StorageClass annotated storageclass.kubernetes.io/is-default-class=true", srcDefaultClass), specDefaultStorageClass},
		{api("api.ingressclass.default-class", "an Ingress created without ingressClassName MUST get the newest IngressClass annotated ingressclass.kubernetes.io/is-default-class=true", srcDefaultClass), specDefaultIngressClass},
		{api("api.csidriver.attach-immutable", "a CSIDriver created without attachRequired MUST get attachRequired true, and an update of attachRequired MUST be rejected with 422 naming spec.attachedRequired", srcStorageAPI), specCSIDriverAttachImmutable},
		{api("api.ingress.backend-required", "an Ingress path whose backend names neither a service nor a resource MUST be rejected with 422 naming the backend, and store nothing", srcIngress), specIngressBackendRequired},
		{api("api.ingressclass.controller-immutable", "an update that changes an IngressClass's spec.controller MUST be rejected with 422 naming spec.controller", srcIngress), specIngressClassControllerImmutable},
		{api("api.networkpolicy.defaults", "a NetworkPolicy created without policyTypes MUST get [Ingress], or [Ingress Egress] when it has egress rules, and its ports without protocol MUST get TCP", srcNetPol), specNetworkPolicyDefaults},
		{api("api.hpa.defaults", "an autoscaling/v2 HorizontalPodAutoscaler created without minReplicas or metrics MUST get minReplicas 1 and one Resource metric targeting 80% average cpu utilization", srcHPA), specHPADefaults},
		{api("api.apiservice.local", "every built-in group-version the server lists in discovery (core v1, apps/v1, batch/v1, ...) MUST have a local APIService named version.group, with no service and an Available condition True", srcAPIService), specLocalAPIServices},
		{api("api.clustertrustbundle.validation", "a ClusterTrustBundle whose trustBundle holds a certificate without the CA bit MUST be rejected with 422 naming spec.trustBundle, and store nothing", srcCTB), specClusterTrustBundleValidation},
		{api("api.hpa.v1-cpu-target", "an autoscaling/v1 HorizontalPodAutoscaler's targetCPUUtilizationPercentage MUST read back through autoscaling/v2 as a Resource cpu metric with that averageUtilization, and the group's preferred version MUST be v2", srcHPAV1), specHPAV1CPUTarget},
		{api("api.hpa.v1-round-trip", "an autoscaling/v2 HorizontalPodAutoscaler's metrics, other than the cpu utilization target, and behavior MUST survive a read and an update through autoscaling/v1 unchanged", srcHPAV1), specHPAV1RoundTrip},
		{api("api.events.v1-view", "an Event created through core/v1 MUST read back through events.k8s.io/v1 with note, regarding and reason from its message, involvedObject and reason, and one created through events.k8s.io/v1 MUST read back through core/v1 with its note as message", srcEventsAPI), specEventsV1View},
		{api("api.events.v1-strict", "an events.k8s.io/v1 Event created without eventTime, or without reportingController, MUST be rejected with 422 naming that field, and store nothing", srcEventsAPI), specEventsV1Strict},
		{api("api.hpa.validation", "an autoscaling/v2 HorizontalPodAutoscaler whose maxReplicas is below minReplicas MUST be rejected with 422 naming spec.maxReplicas, and store nothing", srcHPA), specHPAValidation},
	}
}

// cleanupCluster deletes a cluster-scoped object when the spec ends.
func (e *apiEnv) cleanupCluster(del func(ctx context.Context, name string, opts metav1.DeleteOptions) error, name string) {
	e.c.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = del(cctx, name, metav1.DeleteOptions{})
	})
}

func specBuiltinDiscovery(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	want := map[string][]string{
		"v1":                   {"persistentvolumes", "persistentvolumeclaims"},
		"autoscaling/v2":       {"horizontalpodautoscalers"},
		"autoscaling/v1":       {"horizontalpodautoscalers"},
		"networking.k8s.io/v1": {"ingresses", "ingressclasses", "networkpolicies"},
		"storage.k8s.io/v1":    {"storageclasses", "csidrivers", "csinodes", "volumeattachments", "csistoragecapacities"},
	}
	for gv, resources := range want {
		list, err := e.client.Discovery().ServerResourcesForGroupVersion(gv)
		ok(g, err, "discovery of "+gv)
		var served []string
		for _, r := range list.APIResources {
			served = append(served, r.Name)
		}
		for _, r := range resources {
			g.Expect(served).To(gomega.ContainElement(r), "discovery of %s must list %s", gv, r)
		}
	}
}

func hostPathPV(name, path string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}},
			// A class no claim of another spec names, so nothing binds it.
			StorageClassName: name,
		},
	}
}

func (e *apiEnv) createPV(ctx context.Context, g gomega.Gomega, suffix string) *corev1.PersistentVolume {
	pvs := e.client.CoreV1().PersistentVolumes()
	created, err := pvs.Create(ctx, hostPathPV(e.ns+"-"+suffix, "/tmp/"+e.ns), metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating PersistentVolume")
	e.cleanupCluster(pvs.Delete, created.Name)
	return created
}

func specPVDefaults(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pv := e.createPV(ctx, g, "defaults")
	g.Expect(pv.Spec.PersistentVolumeReclaimPolicy).To(gomega.Equal(corev1.PersistentVolumeReclaimRetain), "the default reclaim policy")
	g.Expect(pv.Spec.VolumeMode).To(gomega.Equal(ptr.To(corev1.PersistentVolumeFilesystem)), "the default volume mode")
	g.Expect(pv.Status.Phase).To(gomega.Equal(corev1.VolumePending), "the phase of a created PersistentVolume")
}

func specPVSourceImmutable(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pv := e.createPV(ctx, g, "source")
	pvs := e.client.CoreV1().PersistentVolumes()
	// Retry on a conflict: a volume controller may update the volume's status meanwhile.
	g.Eventually(func(g gomega.Gomega) {
		cur, err := pvs.Get(ctx, pv.Name, metav1.GetOptions{})
		ok(g, err, "reading the PersistentVolume")
		cur.Spec.HostPath.Path = "/tmp/elsewhere"
		_, err = pvs.Update(ctx, cur, metav1.UpdateOptions{})
		expectInvalid(g, err, "changing a PersistentVolume's hostPath", "spec.persistentvolumesource")
	}).WithContext(ctx).WithTimeout(20 * time.Second).Should(gomega.Succeed())
}

func pvc(name string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}},
			// An explicit class no volume has: the claim stays Pending.
			StorageClassName: ptr.To(name + "-none"),
		},
	}
}

func specPVCSpecImmutable(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	claims := e.client.CoreV1().PersistentVolumeClaims(e.ns)
	created, err := claims.Create(ctx, pvc("claim"), metav1.CreateOptions{})
	ok(g, err, "creating a PersistentVolumeClaim")
	g.Eventually(func(g gomega.Gomega) {
		cur, err := claims.Get(ctx, created.Name, metav1.GetOptions{})
		ok(g, err, "reading the PersistentVolumeClaim")
		cur.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		_, err = claims.Update(ctx, cur, metav1.UpdateOptions{})
		expectInvalid(g, err, "changing a PersistentVolumeClaim's accessModes", "spec")
	}).WithContext(ctx).WithTimeout(20 * time.Second).Should(gomega.Succeed())
}

func specPVCStorageRequired(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	claims := e.client.CoreV1().PersistentVolumeClaims(e.ns)
	c := pvc("no-storage")
	c.Spec.Resources.Requests = nil
	_, err := claims.Create(ctx, c, metav1.CreateOptions{})
	expectInvalid(g, err, "a PersistentVolumeClaim without a storage request", "spec.resources[storage]")
	_, err = claims.Get(ctx, c.Name, metav1.GetOptions{})
	expectNotFound(g, err, "the rejected PersistentVolumeClaim")
}

func (e *apiEnv) createStorageClass(ctx context.Context, g gomega.Gomega, suffix string) *storagev1.StorageClass {
	scs := e.client.StorageV1().StorageClasses()
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-" + suffix}, Provisioner: "example.com/" + suffix, Parameters: map[string]string{"tier": "gold"}}
	created, err := scs.Create(ctx, sc, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating StorageClass")
	e.cleanupCluster(scs.Delete, created.Name)
	return created
}

func specStorageClassDefaults(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	sc := e.createStorageClass(ctx, g, "defaults")
	g.Expect(sc.ReclaimPolicy).To(gomega.Equal(ptr.To(corev1.PersistentVolumeReclaimDelete)), "the default reclaimPolicy")
	g.Expect(sc.VolumeBindingMode).To(gomega.Equal(ptr.To(storagev1.VolumeBindingImmediate)), "the default volumeBindingMode")
}

func specStorageClassImmutable(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	sc := e.createStorageClass(ctx, g, "fixed")
	scs := e.client.StorageV1().StorageClasses()
	changed := sc.DeepCopy()
	changed.Provisioner = "example.com/other"
	_, err := scs.Update(ctx, changed, metav1.UpdateOptions{})
	expectInvalid(g, err, "changing a StorageClass's provisioner", "provisioner")
	changed = sc.DeepCopy()
	changed.Parameters = map[string]string{"tier": "silver"}
	_, err = scs.Update(ctx, changed, metav1.UpdateOptions{})
	expectInvalid(g, err, "changing a StorageClass's parameters", "parameters")
	cur, err := scs.Get(ctx, sc.Name, metav1.GetOptions{})
	ok(g, err, "reading the StorageClass")
	g.Expect(cur.Provisioner).To(gomega.Equal(sc.Provisioner), "the stored provisioner")
	g.Expect(cur.Parameters).To(gomega.Equal(sc.Parameters), "the stored parameters")
}

func specCSIDriverAttachImmutable(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	drivers := e.client.StorageV1().CSIDrivers()
	created, err := drivers.Create(ctx, &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: e.ns + ".csi.example.com"}}, metav1.CreateOptions{})
	ok(g, err, "creating a CSIDriver")
	e.cleanupCluster(drivers.Delete, created.Name)
	g.Expect(created.Spec.AttachRequired).To(gomega.Equal(ptr.To(true)), "the default attachRequired")
	created.Spec.AttachRequired = ptr.To(false)
	_, err = drivers.Update(ctx, created, metav1.UpdateOptions{})
	expectInvalid(g, err, "changing a CSIDriver's attachRequired", "spec.attachedRequired")
}

func specIngressBackendRequired(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	ings := e.client.NetworkingV1().Ingresses(e.ns)
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "no-backend"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: "example.com",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix),
			}}}},
		}}},
	}
	_, err := ings.Create(ctx, ing, metav1.CreateOptions{})
	expectInvalid(g, err, "an Ingress path with an empty backend", "spec.rules[0].http.paths[0].backend")
	_, err = ings.Get(ctx, ing.Name, metav1.GetOptions{})
	expectNotFound(g, err, "the rejected Ingress")
}

func specIngressClassControllerImmutable(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	classes := e.client.NetworkingV1().IngressClasses()
	created, err := classes.Create(ctx, &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-class"},
		Spec:       networkingv1.IngressClassSpec{Controller: "example.com/ingress"},
	}, metav1.CreateOptions{})
	ok(g, err, "creating an IngressClass")
	e.cleanupCluster(classes.Delete, created.Name)
	created.Spec.Controller = "example.com/other"
	_, err = classes.Update(ctx, created, metav1.UpdateOptions{})
	expectInvalid(g, err, "changing an IngressClass's controller", "spec.controller")
}

func specNetworkPolicyDefaults(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	pols := e.client.NetworkingV1().NetworkPolicies(e.ns)
	port := intstr.FromInt32(80)
	in, err := pols.Create(ctx, &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "ingress-only"},
		Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{
			Ports: []networkingv1.NetworkPolicyPort{{Port: &port}},
		}}},
	}, metav1.CreateOptions{})
	ok(g, err, "creating a NetworkPolicy with an ingress rule")
	g.Expect(in.Spec.PolicyTypes).To(gomega.Equal([]networkingv1.PolicyType{networkingv1.PolicyTypeIngress}), "the default policyTypes without egress rules")
	g.Expect(in.Spec.Ingress[0].Ports[0].Protocol).To(gomega.Equal(ptr.To(corev1.ProtocolTCP)), "the default protocol of a port")
	both, err := pols.Create(ctx, &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "with-egress"},
		Spec:       networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{}}},
	}, metav1.CreateOptions{})
	ok(g, err, "creating a NetworkPolicy with an egress rule")
	g.Expect(both.Spec.PolicyTypes).To(gomega.Equal([]networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}), "the default policyTypes with egress rules")
}

func hpa(name string) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    3,
		},
	}
}

func specHPADefaults(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	created, err := e.client.AutoscalingV2().HorizontalPodAutoscalers(e.ns).Create(ctx, hpa("defaults"), metav1.CreateOptions{})
	ok(g, err, "creating a HorizontalPodAutoscaler")
	g.Expect(created.Spec.MinReplicas).To(gomega.Equal(ptr.To(int32(1))), "the default minReplicas")
	g.Expect(created.Spec.Metrics).To(gomega.HaveLen(1), "the default metrics")
	m := created.Spec.Metrics[0]
	g.Expect(m.Type).To(gomega.Equal(autoscalingv2.ResourceMetricSourceType), "the default metric's type")
	g.Expect(m.Resource).NotTo(gomega.BeNil(), "the default metric's resource")
	g.Expect(m.Resource.Name).To(gomega.Equal(corev1.ResourceCPU), "the default metric's resource name")
	g.Expect(m.Resource.Target.Type).To(gomega.Equal(autoscalingv2.UtilizationMetricType), "the default metric's target type")
	g.Expect(m.Resource.Target.AverageUtilization).To(gomega.Equal(ptr.To(int32(80))), "the default metric's target utilization")
}

func specHPAValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	hpas := e.client.AutoscalingV2().HorizontalPodAutoscalers(e.ns)
	h := hpa("inverted")
	h.Spec.MinReplicas = ptr.To(int32(5))
	_, err := hpas.Create(ctx, h, metav1.CreateOptions{})
	expectInvalid(g, err, "a HorizontalPodAutoscaler with maxReplicas 3 below minReplicas 5", "spec.maxReplicas")
	_, err = hpas.Get(ctx, h.Name, metav1.GetOptions{})
	expectNotFound(g, err, "the rejected HorizontalPodAutoscaler")
}

// builtinGroups are the groups of kube-apiserver's own group-versions (they get local
// APIServices; custom resources' and aggregated groups are not considered).
var builtinGroups = map[string]bool{
	"": true, "apps": true, "authentication.k8s.io": true, "authorization.k8s.io": true, "autoscaling": true, "batch": true,
	"certificates.k8s.io": true, "coordination.k8s.io": true, "discovery.k8s.io": true, "events.k8s.io": true,
	"networking.k8s.io": true, "node.k8s.io": true, "policy": true, "rbac.authorization.k8s.io": true, "scheduling.k8s.io": true,
	"storage.k8s.io": true, "admissionregistration.k8s.io": true, "apiextensions.k8s.io": true, "flowcontrol.apiserver.k8s.io": true,
}

func specLocalAPIServices(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	groups, err := e.client.Discovery().ServerGroups()
	ok(g, err, "discovery of the API groups")
	dyn, err := dynamic.NewForConfig(e.server.Config)
	ok(g, err, "a dynamic client")
	apiservices := dyn.Resource(schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"})
	checked := 0
	for _, grp := range groups.Groups {
		if !builtinGroups[grp.Name] {
			continue
		}
		for _, v := range grp.Versions {
			if strings.Contains(v.Version, "alpha") || strings.Contains(v.Version, "beta") {
				continue // only GA versions: prerelease versions have no fixed priority in every release
			}
			name := v.Version + "." + grp.Name
			obj, err := apiservices.Get(ctx, name, metav1.GetOptions{})
			ok(g, err, "reading APIService "+name)
			svc, found, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "service")
			g.Expect(found && svc != nil).To(gomega.BeFalse(), "APIService %s must have no service (got %v)", name, svc)
			conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
			available := false
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Available" && m["status"] == "True" {
					available = true
				}
			}
			g.Expect(available).To(gomega.BeTrue(), "APIService %s must be Available (conditions %v)", name, conds)
			checked++
		}
	}
	g.Expect(checked).To(gomega.BeNumerically(">=", 2), "local APIServices checked (v1. and v1.apps at least)")
}

// leafCertPEM returns a self-signed certificate that is not a CA.
func leafCertPEM(g gomega.Gomega, cn string) string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ok(g, err, "generating a key")
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: true, IsCA: false,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	ok(g, err, "self-signing a certificate")
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func specClusterTrustBundleValidation(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	bundles := e.client.CertificatesV1().ClusterTrustBundles()
	b := &certificatesv1.ClusterTrustBundle{
		ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-leaf"},
		Spec:       certificatesv1.ClusterTrustBundleSpec{TrustBundle: leafCertPEM(g, e.ns)},
	}
	_, err := bundles.Create(ctx, b, metav1.CreateOptions{})
	if err == nil {
		e.cleanupCluster(bundles.Delete, b.Name)
	}
	expectInvalid(g, err, "a ClusterTrustBundle holding a non-CA certificate", "spec.trustBundle")
	_, err = bundles.Get(ctx, b.Name, metav1.GetOptions{})
	expectNotFound(g, err, "the rejected ClusterTrustBundle")
}

func specDefaultStorageClass(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	scs := e.client.StorageV1().StorageClasses()
	sc := &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: e.ns + "-default", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner: "example.com/none",
	}
	_, err := scs.Create(ctx, sc, metav1.CreateOptions{})
	ok(g, err, "creating a default StorageClass")
	e.cleanupCluster(scs.Delete, sc.Name)
	c := pvc("defaulted")
	c.Spec.StorageClassName = nil
	created, err := e.client.CoreV1().PersistentVolumeClaims(e.ns).Create(ctx, c, metav1.CreateOptions{})
	ok(g, err, "creating a claim without a storage class")
	g.Expect(created.Spec.StorageClassName).To(gomega.Equal(ptr.To(sc.Name)), "the claim's storage class")
}

func specDefaultIngressClass(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	classes := e.client.NetworkingV1().IngressClasses()
	ic := &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-default", Annotations: map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}},
		Spec:       networkingv1.IngressClassSpec{Controller: "example.com/none"},
	}
	_, err := classes.Create(ctx, ic, metav1.CreateOptions{})
	ok(g, err, "creating a default IngressClass")
	e.cleanupCluster(classes.Delete, ic.Name)
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "defaulted"},
		Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}},
		}},
	}
	created, err := e.client.NetworkingV1().Ingresses(e.ns).Create(ctx, ing, metav1.CreateOptions{})
	ok(g, err, "creating an Ingress without a class")
	g.Expect(created.Spec.IngressClassName).To(gomega.Equal(ptr.To(ic.Name)), "the Ingress's class")
}

// expectNotFound asserts that a Get of a rejected object found nothing.
func expectNotFound(g gomega.Gomega, err error, what string) {
	g.ExpectWithOffset(1, apierrors.IsNotFound(err)).To(gomega.BeTrue(), "%s must not be stored (Get returned %v)", what, err)
}

func specHPAV1CPUTarget(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	v1hpa := &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "cpu"},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    4, TargetCPUUtilizationPercentage: ptr.To(int32(55)),
		},
	}
	created, err := e.client.AutoscalingV1().HorizontalPodAutoscalers(e.ns).Create(ctx, v1hpa, metav1.CreateOptions{})
	ok(g, err, "creating an autoscaling/v1 HorizontalPodAutoscaler")
	g.Expect(created.Spec.TargetCPUUtilizationPercentage).To(gomega.Equal(ptr.To(int32(55))), "the v1 answer's targetCPUUtilizationPercentage")
	g.Expect(created.Spec.MinReplicas).To(gomega.Equal(ptr.To(int32(1))), "the v1 answer's default minReplicas")
	v2, err := e.client.AutoscalingV2().HorizontalPodAutoscalers(e.ns).Get(ctx, "cpu", metav1.GetOptions{})
	ok(g, err, "reading it through autoscaling/v2")
	g.Expect(v2.Spec.Metrics).To(gomega.HaveLen(1), "the v2 view's metrics")
	m := v2.Spec.Metrics[0]
	g.Expect(m.Type).To(gomega.Equal(autoscalingv2.ResourceMetricSourceType), "the v2 metric's type")
	g.Expect(m.Resource).NotTo(gomega.BeNil(), "the v2 metric's resource")
	g.Expect(m.Resource.Name).To(gomega.Equal(corev1.ResourceCPU), "the v2 metric's resource name")
	g.Expect(m.Resource.Target.Type).To(gomega.Equal(autoscalingv2.UtilizationMetricType), "the v2 metric's target type")
	g.Expect(m.Resource.Target.AverageUtilization).To(gomega.Equal(ptr.To(int32(55))), "the v2 metric's averageUtilization")
	g.Expect(v2.Annotations).NotTo(gomega.HaveKey(gomega.HavePrefix("autoscaling.alpha.kubernetes.io/")), "the v2 view carries no round-trip annotations")
	grp, err := e.client.Discovery().ServerGroups()
	ok(g, err, "discovery of the API groups")
	found := false
	for _, gr := range grp.Groups {
		if gr.Name == "autoscaling" {
			found = true
			g.Expect(gr.PreferredVersion.Version).To(gomega.Equal("v2"), "the autoscaling group's preferred version")
			var versions []string
			for _, v := range gr.Versions {
				versions = append(versions, v.Version)
			}
			g.Expect(versions).To(gomega.ContainElements("v1", "v2"), "the autoscaling group's versions")
		}
	}
	g.Expect(found).To(gomega.BeTrue(), "discovery lists the autoscaling group")
}

func specHPAV1RoundTrip(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	h := hpa("mixed")
	h.Spec.Metrics = []autoscalingv2.MetricSpec{
		{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceMemory,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("300Mi"))}}},
		{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "requests_per_second"},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resource.MustParse("20"))}}},
		{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(int32(70))}}},
	}
	h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To(int32(120))}}
	v2c := e.client.AutoscalingV2().HorizontalPodAutoscalers(e.ns)
	created, err := v2c.Create(ctx, h, metav1.CreateOptions{})
	ok(g, err, "creating an autoscaling/v2 HorizontalPodAutoscaler with memory, pods and cpu metrics and a behavior")
	v1c := e.client.AutoscalingV1().HorizontalPodAutoscalers(e.ns)
	old, err := v1c.Get(ctx, "mixed", metav1.GetOptions{})
	ok(g, err, "reading it through autoscaling/v1")
	g.Expect(old.Spec.TargetCPUUtilizationPercentage).To(gomega.Equal(ptr.To(int32(70))), "the v1 view's targetCPUUtilizationPercentage")
	if old.Labels == nil {
		old.Labels = map[string]string{}
	}
	old.Labels["touched"] = "through-v1"
	old.Spec.MaxReplicas = 7
	_, err = v1c.Update(ctx, old, metav1.UpdateOptions{})
	ok(g, err, "updating it through autoscaling/v1")
	after, err := v2c.Get(ctx, "mixed", metav1.GetOptions{})
	ok(g, err, "reading it back through autoscaling/v2")
	g.Expect(after.Spec.MaxReplicas).To(gomega.Equal(int32(7)), "the v1 update's maxReplicas")
	g.Expect(after.Labels).To(gomega.HaveKeyWithValue("touched", "through-v1"), "the v1 update's label")
	byKind := func(ms []autoscalingv2.MetricSpec) map[string]autoscalingv2.MetricTarget {
		out := map[string]autoscalingv2.MetricTarget{}
		for _, m := range ms {
			switch {
			case m.Resource != nil:
				out["Resource/"+string(m.Resource.Name)] = m.Resource.Target
			case m.Pods != nil:
				out["Pods/"+m.Pods.Metric.Name] = m.Pods.Target
			default:
				out[string(m.Type)] = autoscalingv2.MetricTarget{}
			}
		}
		return out
	}
	want, got := byKind(created.Spec.Metrics), byKind(after.Spec.Metrics)
	g.Expect(got).To(gomega.HaveLen(len(want)), "the metrics after the v1 update: %v", after.Spec.Metrics)
	for k, t := range want {
		g.Expect(got).To(gomega.HaveKey(k), "metric %s after the v1 update", k)
		g.Expect(got[k].Type).To(gomega.Equal(t.Type), "metric %s target type", k)
		g.Expect(ptr.Deref(got[k].AverageUtilization, -1)).To(gomega.Equal(ptr.Deref(t.AverageUtilization, -1)), "metric %s averageUtilization", k)
		if t.AverageValue != nil {
			g.Expect(got[k].AverageValue).NotTo(gomega.BeNil(), "metric %s averageValue", k)
			g.Expect(got[k].AverageValue.Cmp(*t.AverageValue)).To(gomega.Equal(0), "metric %s averageValue %s", k, got[k].AverageValue)
		}
	}
	g.Expect(after.Spec.Behavior).NotTo(gomega.BeNil(), "the behavior after the v1 update")
	g.Expect(after.Spec.Behavior.ScaleDown).NotTo(gomega.BeNil(), "the behavior's scaleDown after the v1 update")
	g.Expect(after.Spec.Behavior.ScaleDown.StabilizationWindowSeconds).To(gomega.Equal(ptr.To(int32(120))), "the scaleDown stabilization window after the v1 update")
}

func specEventsV1View(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	cm, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "subject"}}, metav1.CreateOptions{})
	ok(g, err, "creating the ConfigMap the events are about")
	ref := corev1.ObjectReference{Kind: "ConfigMap", APIVersion: "v1", Namespace: e.ns, Name: cm.Name, UID: cm.UID}
	now := metav1.Now()
	_, err = e.client.CoreV1().Events(e.ns).Create(ctx, &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy"}, InvolvedObject: ref, Reason: "Checked", Message: "core message",
		Type: corev1.EventTypeNormal, Source: corev1.EventSource{Component: "spec"}, FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}, metav1.CreateOptions{})
	ok(g, err, "creating an Event through core/v1")
	v1ev, err := e.client.EventsV1().Events(e.ns).Get(ctx, "legacy", metav1.GetOptions{})
	ok(g, err, "reading the core/v1 Event through events.k8s.io/v1")
	g.Expect(v1ev.Note).To(gomega.Equal("core message"), "the events.k8s.io/v1 note")
	g.Expect(v1ev.Reason).To(gomega.Equal("Checked"), "the events.k8s.io/v1 reason")
	g.Expect(v1ev.Regarding.UID).To(gomega.Equal(cm.UID), "the events.k8s.io/v1 regarding.uid")
	g.Expect(v1ev.Regarding.Name).To(gomega.Equal(cm.Name), "the events.k8s.io/v1 regarding.name")
	g.Expect(v1ev.DeprecatedCount).To(gomega.Equal(int32(1)), "the events.k8s.io/v1 deprecatedCount")

	_, err = e.client.EventsV1().Events(e.ns).Create(ctx, &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "modern"}, EventTime: metav1.NowMicro(), Regarding: ref,
		ReportingController: "example.com/spec", ReportingInstance: "spec-1", Action: "Check", Reason: "Checked",
		Note: "events note", Type: corev1.EventTypeWarning,
	}, metav1.CreateOptions{})
	ok(g, err, "creating an Event through events.k8s.io/v1")
	core, err := e.client.CoreV1().Events(e.ns).Get(ctx, "modern", metav1.GetOptions{})
	ok(g, err, "reading the events.k8s.io/v1 Event through core/v1")
	g.Expect(core.Message).To(gomega.Equal("events note"), "the core/v1 message")
	g.Expect(core.InvolvedObject.UID).To(gomega.Equal(cm.UID), "the core/v1 involvedObject.uid")
	g.Expect(core.ReportingController).To(gomega.Equal("example.com/spec"), "the core/v1 reportingComponent")
	g.Expect(core.Type).To(gomega.Equal(corev1.EventTypeWarning), "the core/v1 type")
	list, err := e.client.EventsV1().Events(e.ns).List(ctx, metav1.ListOptions{})
	ok(g, err, "listing events.k8s.io/v1 Events")
	var names []string
	for _, it := range list.Items {
		names = append(names, it.Name)
	}
	g.Expect(names).To(gomega.ContainElements("legacy", "modern"), "the events.k8s.io/v1 list holds both Events")
}

func specEventsV1Strict(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	evs := e.client.EventsV1().Events(e.ns)
	ref := corev1.ObjectReference{Kind: "ConfigMap", APIVersion: "v1", Namespace: e.ns, Name: "subject"}
	base := func(name string) *eventsv1.Event {
		return &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{Name: name}, EventTime: metav1.NowMicro(), Regarding: ref,
			ReportingController: "example.com/spec", ReportingInstance: "spec-1", Action: "Check", Reason: "Checked", Type: corev1.EventTypeNormal,
		}
	}
	noTime := base("no-time")
	noTime.EventTime = metav1.MicroTime{}
	_, err := evs.Create(ctx, noTime, metav1.CreateOptions{})
	expectInvalid(g, err, "an events.k8s.io/v1 Event without eventTime", "eventTime")
	_, err = evs.Get(ctx, noTime.Name, metav1.GetOptions{})
	expectNotFound(g, err, "the Event rejected for its missing eventTime")
	noController := base("no-controller")
	noController.ReportingController = ""
	_, err = evs.Create(ctx, noController, metav1.CreateOptions{})
	expectInvalid(g, err, "an events.k8s.io/v1 Event without reportingController", "reportingController")
	_, err = evs.Get(ctx, noController.Name, metav1.GetOptions{})
	expectNotFound(g, err, "the Event rejected for its missing reportingController")
	_, err = evs.Create(ctx, base("valid"), metav1.CreateOptions{})
	ok(g, err, "creating a complete events.k8s.io/v1 Event")
}
