package validation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func claim() *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: objMeta("data"),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	PersistentVolumeClaimKind().Default(c)
	return c
}

func TestPersistentVolumeClaimUpdate(t *testing.T) {
	k := PersistentVolumeClaimKind()
	old := claim()
	assertErrors(t, k.Validate(old))
	// Pending: the storage request may not change (the whole spec is immutable).
	grown := old.DeepCopy()
	grown.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
	assertErrors(t, k.ValidateUpdate(grown, old), fe{field.ErrorTypeForbidden, "spec"})
	// Bound: growth is allowed, shrinking below status.capacity is not.
	bound := old.DeepCopy()
	bound.Status.Phase = corev1.ClaimBound
	bound.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	grown = bound.DeepCopy()
	grown.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
	assertErrors(t, k.ValidateUpdate(grown, bound))
	shrunk := bound.DeepCopy()
	shrunk.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("512Mi")
	assertErrors(t, k.ValidateUpdate(shrunk, bound), fe{field.ErrorTypeForbidden, "spec.resources.requests.storage"})
	// volumeName may be set once.
	named := old.DeepCopy()
	named.Spec.VolumeName = "pv1"
	assertErrors(t, k.ValidateUpdate(named, old))
	renamed := named.DeepCopy()
	renamed.Spec.VolumeName = "pv2"
	assertErrors(t, k.ValidateUpdate(renamed, named), fe{field.ErrorTypeForbidden, "spec"})
}

func TestPersistentVolumeValidation(t *testing.T) {
	k := PersistentVolumeKind()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:    corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadWriteOnce},
		},
	}
	assertErrors(t, k.Validate(pv), fe{field.ErrorTypeRequired, "spec"}, fe{field.ErrorTypeForbidden, "spec.accessModes"})
	pv.Spec.AccessModes = pv.Spec.AccessModes[1:]
	pv.Spec.HostPath = &corev1.HostPathVolumeSource{Path: "/data"}
	k.Default(pv)
	assertErrors(t, k.Validate(pv))
	moved := pv.DeepCopy()
	moved.Spec.HostPath.Path = "/elsewhere"
	assertErrors(t, k.ValidateUpdate(moved, pv), fe{field.ErrorTypeForbidden, "spec.persistentvolumesource"})
}

func TestStorageKinds(t *testing.T) {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: "example.com/fast"}
	StorageClassKind().Default(sc)
	assertErrors(t, StorageClassKind().Validate(sc))
	bad := sc.DeepCopy()
	bad.Provisioner = ""
	bad.VolumeBindingMode = ptrTo(storagev1.VolumeBindingMode("Later"))
	assertErrors(t, StorageClassKind().Validate(bad), fe{field.ErrorTypeRequired, "provisioner"}, fe{field.ErrorTypeNotSupported, "volumeBindingMode"})

	d := &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "csi.example.com"}}
	CSIDriverKind().Default(d)
	assertErrors(t, CSIDriverKind().Validate(d))
	d2 := d.DeepCopy()
	d2.Spec.AttachRequired = ptrTo(false)
	assertErrors(t, CSIDriverKind().ValidateUpdate(d2, d), fe{field.ErrorTypeInvalid, "spec.attachedRequired"})

	va := &storagev1.VolumeAttachment{ObjectMeta: metav1.ObjectMeta{Name: "va"}, Spec: storagev1.VolumeAttachmentSpec{Attacher: "csi.example.com", NodeName: "n1"}}
	assertErrors(t, VolumeAttachmentKind().Validate(va), fe{field.ErrorTypeRequired, "spec.source"})
}

func TestIngressAndNetworkPolicy(t *testing.T) {
	ing := &networkingv1.Ingress{ObjectMeta: objMeta("web"), Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
		Host: "1.2.3.4",
		IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
			{Path: "a", PathType: ptrTo(networkingv1.PathTypePrefix)},
		}}},
	}}}}
	assertErrors(t, IngressKind().Validate(ing),
		fe{field.ErrorTypeInvalid, "spec.rules[0].host"},
		fe{field.ErrorTypeInvalid, "spec.rules[0].http.paths[0].path"},
		fe{field.ErrorTypeInvalid, "spec.rules[0].http.paths[0].backend"})

	np := &networkingv1.NetworkPolicy{ObjectMeta: objMeta("np"), Spec: networkingv1.NetworkPolicySpec{
		Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
			{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"192.168.0.0/16"}}},
			{},
		}}},
	}}
	NetworkPolicyKind().Default(np)
	assertErrors(t, NetworkPolicyKind().Validate(np),
		fe{field.ErrorTypeInvalid, "spec.ingress[0].from[0].ipBlock.except[0]"},
		fe{field.ErrorTypeRequired, "spec.ingress[0].from[1]"})
}

func TestHorizontalPodAutoscaler(t *testing.T) {
	h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objMeta("web"), Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "v1"},
		MaxReplicas:    3,
		Behavior:       &autoscalingv2.HorizontalPodAutoscalerBehavior{},
	}}
	HorizontalPodAutoscalerKind().Default(h)
	if h.Spec.Behavior.ScaleUp == nil || len(h.Spec.Behavior.ScaleUp.Policies) != 2 || h.Spec.Behavior.ScaleDown == nil {
		t.Errorf("behavior defaults: %+v", h.Spec.Behavior)
	}
	assertErrors(t, HorizontalPodAutoscalerKind().Validate(h), fe{field.ErrorTypeInvalid, "spec.scaleTargetRef.apiVersion"})
}

func TestAPIServiceAndTrustBundle(t *testing.T) {
	a := LocalAPIService(schema.GroupVersion{Group: "apps", Version: "v1"})
	k := APIServiceKind()
	k.PrepareForCreate(a)
	assertErrors(t, k.Validate(a))
	if len(a.Status.Conditions) != 1 || a.Status.Conditions[0].Reason != "Local" {
		t.Errorf("a local APIService is Available: %+v", a.Status)
	}
	a.Name = "v1.wrong"
	assertErrors(t, k.Validate(a), fe{field.ErrorTypeInvalid, "metadata.name"})

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert := func(ca bool) string {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true, IsCA: ca}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	ca := cert(true)
	b := &certificatesv1.ClusterTrustBundle{ObjectMeta: metav1.ObjectMeta{Name: "example.com:signer:roots"}, Spec: certificatesv1.ClusterTrustBundleSpec{SignerName: "example.com/signer", TrustBundle: ca}}
	assertErrors(t, ClusterTrustBundleKind().Validate(b))
	b.Spec.TrustBundle = ca + ca + cert(false)
	b.Name = "roots"
	assertErrors(t, ClusterTrustBundleKind().Validate(b), fe{field.ErrorTypeInvalid, "metadata.name"}, fe{field.ErrorTypeInvalid, "spec.trustBundle"})
}
