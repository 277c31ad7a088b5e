package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// mutCase is one named mutation of a valid (defaulted) object and the errors it must cause.
type mutCase[T runtime.Object] struct {
	name   string
	mutate func(T)
	want   []fe
}

// runCreateCases checks that base() is valid after defaulting and that each mutation yields
// exactly the expected errors from ValidateCreate.
func runCreateCases[T runtime.Object](t *testing.T, base func() T, cases []mutCase[T]) {
	t.Helper()
	t.Run("baseline is valid", func(t *testing.T) {
		assertErrors(t, ValidateCreate(defaulted(base())))
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := defaulted(base())
			tc.mutate(obj)
			assertErrors(t, ValidateCreate(obj), tc.want...)
		})
	}
}

func TestBaselinesValid(t *testing.T) {
	for name, obj := range map[string]runtime.Object{
		"pod": validPod(), "deployment": validDeployment(), "replicaset": validReplicaSet(),
		"service": validService(), "node": validNode(), "namespace": validNamespace(),
		"endpoints": validEndpoints(), "event": validEvent(), "configmap": validConfigMap(),
		"binding": validBinding(), "scale": validScale(), "lease": validLease(),
		"endpointslice": validEndpointSlice(), "eviction": validEviction(),
	} {
		t.Run(name, func(t *testing.T) {
			Default(obj)
			assertErrors(t, ValidateCreate(obj))
		})
	}
}

func TestObjectMeta(t *testing.T) {
	runCreateCases(t, validPod, []mutCase[*corev1.Pod]{
		{"name required", func(p *corev1.Pod) { p.Name = "" }, []fe{{field.ErrorTypeRequired, "metadata.name"}}},
		{"name not a subdomain", func(p *corev1.Pod) { p.Name = "Web_0" }, []fe{{field.ErrorTypeInvalid, "metadata.name"}}},
		{"dotted name is a subdomain", func(p *corev1.Pod) { p.Name = "web.0" }, nil},
		{"generateName invalid", func(p *corev1.Pod) { p.GenerateName = "Bad_" }, []fe{{field.ErrorTypeInvalid, "metadata.generateName"}}},
		{"namespace required", func(p *corev1.Pod) { p.Namespace = "" }, []fe{{field.ErrorTypeRequired, "metadata.namespace"}}},
		{"namespace not a label", func(p *corev1.Pod) { p.Namespace = "a.b" }, []fe{{field.ErrorTypeInvalid, "metadata.namespace"}}},
		{"label key invalid", func(p *corev1.Pod) { p.Labels["bad key"] = "x" }, []fe{{field.ErrorTypeInvalid, "metadata.labels"}}},
		{"label value invalid", func(p *corev1.Pod) { p.Labels["app"] = "no spaces" }, []fe{{field.ErrorTypeInvalid, "metadata.labels"}}},
		{"label value too long", func(p *corev1.Pod) { p.Labels["app"] = strings.Repeat("a", 64) }, []fe{{field.ErrorTypeInvalid, "metadata.labels"}}},
		{"prefixed label ok", func(p *corev1.Pod) { p.Labels["example.com/tier"] = "front" }, nil},
		{"annotation key invalid", func(p *corev1.Pod) { p.Annotations = map[string]string{"no/good/key": "x"} }, []fe{{field.ErrorTypeInvalid, "metadata.annotations"}}},
		{"annotations too large", func(p *corev1.Pod) { p.Annotations = map[string]string{"big": strings.Repeat("x", 256*1024)} }, []fe{{field.ErrorTypeTooLong, "metadata.annotations"}}},
		{"owner reference fields required", func(p *corev1.Pod) { p.OwnerReferences = []metav1.OwnerReference{{}} }, []fe{
			{field.ErrorTypeRequired, "metadata.ownerReferences[0].apiVersion"},
			{field.ErrorTypeRequired, "metadata.ownerReferences[0].kind"},
			{field.ErrorTypeRequired, "metadata.ownerReferences[0].name"},
			{field.ErrorTypeRequired, "metadata.ownerReferences[0].uid"},
		}},
		{"two controllers", func(p *corev1.Pod) {
			ref := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "a", UID: "1", Controller: ptrTo(true)}
			ref2 := ref
			ref2.Name, ref2.UID = "b", "2"
			p.OwnerReferences = []metav1.OwnerReference{ref, ref2}
		}, []fe{{field.ErrorTypeInvalid, "metadata.ownerReferences"}}},
		{"finalizer not qualified", func(p *corev1.Pod) { p.Finalizers = []string{"bad finalizer"} }, []fe{{field.ErrorTypeInvalid, "metadata.finalizers"}}},
		{"finalizer ok", func(p *corev1.Pod) { p.Finalizers = []string{"example.com/cleanup"} }, nil},
	})
}

func TestNameRules(t *testing.T) {
	cases := []struct {
		name     string
		obj      runtime.Object
		rule     string
		goodName string
		badName  string
	}{
		{"pod subdomain", validPod(), RuleDNS1123Subdomain, "a.b-c", "A"},
		{"namespace label", validNamespace(), RuleDNS1123Label, "team-a", "team.a"},
		{"service 1035 label", validService(), RuleDNS1035Label, "web", "1web"},
		{"node subdomain", validNode(), RuleDNS1123Subdomain, "node-1.example.com", "node_1"},
		{"deployment subdomain", validDeployment(), RuleDNS1123Subdomain, "web.v2", "Web"},
		{"configmap subdomain", validConfigMap(), RuleDNS1123Subdomain, "kube-root-ca.crt", "a b"},
		{"lease subdomain", validLease(), RuleDNS1123Subdomain, "node.1", "-x"},
		{"endpointslice subdomain", validEndpointSlice(), RuleDNS1123Subdomain, "web-x.y", "x_"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NameRule(tc.obj); got != tc.rule {
				t.Fatalf("NameRule = %q, want %q", got, tc.rule)
			}
			if msgs := ValidateName(tc.rule, tc.goodName, false); len(msgs) != 0 {
				t.Errorf("ValidateName(%q) = %v, want valid", tc.goodName, msgs)
			}
			if msgs := ValidateName(tc.rule, tc.badName, false); len(msgs) == 0 {
				t.Errorf("ValidateName(%q) valid, want invalid", tc.badName)
			}
			Default(tc.obj)
			setName(tc.obj, tc.goodName)
			assertErrors(t, ValidateCreate(tc.obj))
			setName(tc.obj, tc.badName)
			assertErrors(t, ValidateCreate(tc.obj), fe{field.ErrorTypeInvalid, "metadata.name"})
		})
	}
	if msgs := ValidateName(RuleDNS1035Label, "web-", true); len(msgs) != 0 {
		t.Errorf("generateName prefix with trailing dash should be valid: %v", msgs)
	}
}

func setName(obj runtime.Object, name string) {
	obj.(metav1.Object).SetName(name)
}

func TestClusterScopedNamespaceForbidden(t *testing.T) {
	for name, obj := range map[string]runtime.Object{"namespace": validNamespace(), "node": validNode()} {
		t.Run(name, func(t *testing.T) {
			Default(obj)
			obj.(metav1.Object).SetNamespace("default")
			assertErrors(t, ValidateCreate(obj), fe{field.ErrorTypeForbidden, "metadata.namespace"})
		})
	}
}

func TestUnknownKindGetsMetaChecks(t *testing.T) {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "Bad_Name"}}
	Default(sec) // no-op, must not panic
	assertErrors(t, ValidateCreate(sec),
		fe{field.ErrorTypeInvalid, "metadata.name"},
		fe{field.ErrorTypeRequired, "metadata.namespace"})
}

func TestNilAndMismatchedObjects(t *testing.T) {
	var nilPod *corev1.Pod
	Default(nilPod)
	Default(nil)
	if errs := ValidateCreate(nilPod); len(errs) != 1 || errs[0].Type != field.ErrorTypeInternal {
		t.Errorf("ValidateCreate(nil pod) = %v, want one internal error", errs)
	}
	if errs := ValidateUpdate(validPod(), validService()); len(errs) != 1 || errs[0].Type != field.ErrorTypeInternal {
		t.Errorf("ValidateUpdate(pod, service) = %v, want one internal error", errs)
	}
	if errs := ValidateStatusUpdate(validPod(), nil); len(errs) != 1 || errs[0].Type != field.ErrorTypeInternal {
		t.Errorf("ValidateStatusUpdate(pod, nil) = %v, want one internal error", errs)
	}
}

func TestErrorsAreSortedAndDeterministic(t *testing.T) {
	p := defaulted(validPod())
	p.Labels = map[string]string{"a b": "1", "c d": "2", "e f": "3", "g h": "4"}
	first := ValidateCreate(p)
	for i := 0; i < 20; i++ {
		again := ValidateCreate(p)
		if len(again) != len(first) {
			t.Fatalf("length changed")
		}
		for j := range again {
			if again[j].Error() != first[j].Error() {
				t.Fatalf("order changed at %d: %v vs %v", j, again[j], first[j])
			}
		}
	}
}
