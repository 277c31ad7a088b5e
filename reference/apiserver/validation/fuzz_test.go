package validation

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func mustJSON(t interface{ Fatal(...any) }, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func errorStrings(errs field.ErrorList) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fuzzObject runs defaulting and every validation entry point on obj, checking that defaulting
// is idempotent and that each validation gives the same answer twice (and on a deep copy).
func fuzzObject[T runtime.Object](t *testing.T, obj T) {
	Default(obj)
	again := obj.DeepCopyObject()
	Default(again)
	if !apiequality.Semantic.DeepEqual(obj, again) {
		t.Fatalf("Default is not idempotent")
	}
	first := errorStrings(ValidateCreate(obj))
	second := errorStrings(ValidateCreate(obj.DeepCopyObject()))
	if !sameStrings(first, second) {
		t.Fatalf("ValidateCreate not deterministic:\n%q\n%q", first, second)
	}
	old := obj.DeepCopyObject()
	u1 := errorStrings(ValidateUpdate(obj, old))
	u2 := errorStrings(ValidateUpdate(obj.DeepCopyObject(), old))
	if !sameStrings(u1, u2) {
		t.Fatalf("ValidateUpdate not deterministic:\n%q\n%q", u1, u2)
	}
	// An unchanged update can only report what a create reports.
	if len(u1) != len(first) {
		t.Fatalf("unchanged update reports %d errors, create %d:\n%q\n%q", len(u1), len(first), u1, first)
	}
	s1 := errorStrings(ValidateStatusUpdate(obj, old))
	s2 := errorStrings(ValidateStatusUpdate(obj.DeepCopyObject(), old))
	if !sameStrings(s1, s2) {
		t.Fatalf("ValidateStatusUpdate not deterministic:\n%q\n%q", s1, s2)
	}
	_ = NameRule(obj)
}

func FuzzValidatePod(f *testing.F) {
	f.Add(mustJSON(f, validPod()))
	f.Add(mustJSON(f, defaulted(validPod())))
	f.Add([]byte(`{"metadata":{"name":"p","namespace":"default"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}`))
	f.Add([]byte(`{"metadata":{"name":"p","namespace":"default","labels":{"a":"b","c d":"e"}},"spec":{"containers":[{"name":"c","image":" x","ports":[{"containerPort":80,"hostPort":80},{"containerPort":81,"hostPort":80}],"resources":{"limits":{"cpu":"1"},"requests":{"cpu":"2"}}}],"tolerations":[{"operator":"Exists","value":"x"}],"dnsPolicy":"None"}}`))
	f.Add([]byte(`{"spec":{"containers":[{"livenessProbe":{"httpGet":{"port":"http"},"exec":{}}}],"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"k","operator":"Gt","values":["x","y"]}],"matchFields":[{"key":"x","operator":"In"}]}]}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var pod corev1.Pod
		if err := json.Unmarshal(data, &pod); err != nil {
			return
		}
		fuzzObject(t, &pod)
	})
}

func FuzzValidateDeployment(f *testing.F) {
	f.Add(mustJSON(f, validDeployment()))
	f.Add(mustJSON(f, defaulted(validDeployment())))
	f.Add([]byte(`{"metadata":{"name":"d","namespace":"default"},"spec":{"selector":{"matchLabels":{"app":"x"}},"template":{"metadata":{"labels":{"app":"x"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}`))
	f.Add([]byte(`{"metadata":{"name":"d","namespace":"default"},"spec":{"replicas":-1,"selector":{"matchExpressions":[{"key":"a","operator":"In"}]},"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"0%","maxUnavailable":0}},"minReadySeconds":700,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c"}]}}}}`))
	f.Add([]byte(`{"spec":{"strategy":{"type":"Recreate","rollingUpdate":{"maxSurge":"x%"}},"selector":{}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d appsv1.Deployment
		if err := json.Unmarshal(data, &d); err != nil {
			return
		}
		fuzzObject(t, &d)
	})
}

func FuzzValidateSecret(f *testing.F) {
	f.Add(mustJSON(f, validSecret()))
	f.Add([]byte(`{"metadata":{"name":"s","namespace":"default"},"stringData":{"a":"b"},"data":{"a":"Yw=="}}`))
	f.Add([]byte(`{"metadata":{"name":"s","namespace":"default"},"type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":"e30="}}`))
	f.Add([]byte(`{"metadata":{"name":"s","namespace":"default"},"type":"kubernetes.io/tls","immutable":true,"stringData":{"tls.crt":"","../x":""}}`))
	f.Add([]byte(`{"metadata":{"name":"s"},"type":"kubernetes.io/service-account-token","data":{"token":""}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s corev1.Secret
		if err := json.Unmarshal(data, &s); err != nil {
			return
		}
		fuzzObject(t, &s)
		if s.StringData != nil {
			t.Fatalf("stringData survives defaulting: %v", s.StringData)
		}
	})
}
