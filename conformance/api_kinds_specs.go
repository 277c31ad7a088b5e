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
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
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
		{api("api.builtin.discovery", "discovery MUST list autoscaling/v2 horizontalpodautoscalers, networking.k8s.io/v1 ingresses, ingressclasses and networkpolicies, storage.k8s.io/v1 storageclasses, csidrivers, csinodes, volumeattachments and csistoragecapacities, and core/v1 persistentvolumes and persistentvolumeclaims", srcBuiltinDisc), specBuiltinDiscovery},
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
