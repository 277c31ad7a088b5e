package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func validSecret() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: objMeta("db-credentials"),
		Data:       map[string][]byte{"username": []byte("admin"), "password.txt": []byte("s3cr3t"), "EMPTY": nil},
	}
}

// typedSecret is a valid secret of type t with the data it needs.
func typedSecret(t corev1.SecretType, data map[string][]byte) func() *corev1.Secret {
	return func() *corev1.Secret {
		s := validSecret()
		s.Type, s.Data = t, data
		return s
	}
}

func validServiceAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		ObjectMeta:       objMeta("builder"),
		Secrets:          []corev1.ObjectReference{{Name: "builder-token"}},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry"}},
	}
}

func TestDefaultSecret(t *testing.T) {
	s := validSecret()
	s.StringData = map[string]string{"username": "root", "extra": "x"}
	Default(s)
	if s.Type != corev1.SecretTypeOpaque {
		t.Errorf("type = %q, want Opaque", s.Type)
	}
	if s.StringData != nil {
		t.Errorf("stringData kept: %v", s.StringData)
	}
	if got := string(s.Data["username"]); got != "root" {
		t.Errorf("data[username] = %q: stringData must win over data", got)
	}
	if got := string(s.Data["extra"]); got != "x" {
		t.Errorf("data[extra] = %q, want x", got)
	}
	if got := string(s.Data["password.txt"]); got != "s3cr3t" {
		t.Errorf("data[password.txt] = %q: keys only in data must stay", got)
	}

	only := &corev1.Secret{ObjectMeta: objMeta("s"), Type: corev1.SecretTypeTLS, StringData: map[string]string{"tls.crt": "c", "tls.key": "k"}}
	Default(only)
	if only.Type != corev1.SecretTypeTLS || string(only.Data["tls.crt"]) != "c" || string(only.Data["tls.key"]) != "k" {
		t.Errorf("stringData into nil data: %+v", only)
	}
	assertErrors(t, ValidateCreate(only))
}

func TestValidateSecretCreate(t *testing.T) {
	runCreateCases(t, validSecret, []mutCase[*corev1.Secret]{
		{"bad key", func(s *corev1.Secret) { s.Data["a/b"] = nil }, []fe{{tInvalid, "data[a/b]"}}},
		{"dot-dot key", func(s *corev1.Secret) { s.Data[".."] = nil }, []fe{{tInvalid, "data[..]"}}},
		{"name not a subdomain", func(s *corev1.Secret) { s.Name = "DB_Credentials" }, []fe{{tInvalid, "metadata.name"}}},
		{"too large", func(s *corev1.Secret) { s.Data["big"] = make([]byte, 1<<20) }, []fe{{tTooLong, "data"}}},
		{"at the limit ok", func(s *corev1.Secret) {
			s.Data = map[string][]byte{"a": make([]byte, 1<<19), "b": make([]byte, 1<<19)}
		}, nil},
		{"custom type ok", func(s *corev1.Secret) { s.Type = "example.com/anything" }, nil},
		{"service-account-token needs the account name", func(s *corev1.Secret) { s.Type = corev1.SecretTypeServiceAccountToken },
			[]fe{{tRequired, "metadata.annotations[kubernetes.io/service-account.name]"}}},
		{"service-account-token with the account name", func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeServiceAccountToken
			s.Annotations = map[string]string{corev1.ServiceAccountNameKey: "default"}
		}, nil},
		{"dockerconfigjson needs its key", func(s *corev1.Secret) { s.Type = corev1.SecretTypeDockerConfigJson },
			[]fe{{tRequired, "data[.dockerconfigjson]"}}},
		{"dockerconfigjson must be JSON", func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeDockerConfigJson
			s.Data[corev1.DockerConfigJsonKey] = []byte("{not json")
		}, []fe{{tInvalid, "data[.dockerconfigjson]"}}},
		{"dockerconfigjson must be a JSON object", func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeDockerConfigJson
			s.Data[corev1.DockerConfigJsonKey] = []byte(`["a"]`)
		}, []fe{{tInvalid, "data[.dockerconfigjson]"}}},
		{"dockerconfigjson ok", func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeDockerConfigJson
			s.Data[corev1.DockerConfigJsonKey] = []byte(`{"auths":{}}`)
		}, nil},
		{"dockercfg needs its key", func(s *corev1.Secret) { s.Type = corev1.SecretTypeDockercfg },
			[]fe{{tRequired, "data[.dockercfg]"}}},
		{"basic-auth needs username or password", func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeBasicAuth
			s.Data = map[string][]byte{"user": []byte("x")}
		}, []fe{{tRequired, "data[username]"}, {tRequired, "data[password]"}}},
		{"basic-auth with an empty password only ok", func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeBasicAuth
			s.Data = map[string][]byte{corev1.BasicAuthPasswordKey: nil}
		}, nil},
		{"ssh-auth needs a private key", func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeSSHAuth
			s.Data[corev1.SSHAuthPrivateKey] = nil
		}, []fe{{tRequired, "data[ssh-privatekey]"}}},
		{"tls needs cert and key", func(s *corev1.Secret) { s.Type = corev1.SecretTypeTLS },
			[]fe{{tRequired, "data[tls.crt]"}, {tRequired, "data[tls.key]"}}},
		{"tls needs the key", func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeTLS
			s.Data[corev1.TLSCertKey] = []byte("c")
		}, []fe{{tRequired, "data[tls.key]"}}},
	})
	runCreateCases(t, typedSecret(corev1.SecretTypeTLS, map[string][]byte{"tls.crt": nil, "tls.key": nil}), nil)
	runCreateCases(t, typedSecret(corev1.SecretTypeSSHAuth, map[string][]byte{"ssh-privatekey": []byte("k")}), nil)
}

func TestValidateSecretUpdate(t *testing.T) {
	runUpdateCases(t, validSecret, false, []mutCase[*corev1.Secret]{
		{"data change ok", func(s *corev1.Secret) { s.Data["username"] = []byte("root") }, nil},
		{"set immutable ok", func(s *corev1.Secret) { s.Immutable = ptrTo(true) }, nil},
		{"type change", func(s *corev1.Secret) { s.Type = "example.com/other" }, []fe{{tInvalid, "type"}}},
		{"type change that also breaks the new type's rules", func(s *corev1.Secret) { s.Type = corev1.SecretTypeTLS },
			[]fe{{tInvalid, "type"}, {tRequired, "data[tls.crt]"}, {tRequired, "data[tls.key]"}}},
	})
	immutable := func() *corev1.Secret {
		s := validSecret()
		s.Immutable = ptrTo(true)
		return s
	}
	runUpdateCases(t, immutable, false, []mutCase[*corev1.Secret]{
		{"data change", func(s *corev1.Secret) { s.Data["username"] = []byte("root") }, []fe{{tForbidden, "data"}}},
		{"key added", func(s *corev1.Secret) { s.Data["new"] = nil }, []fe{{tForbidden, "data"}}},
		{"unset immutable", func(s *corev1.Secret) { s.Immutable = nil }, []fe{{tForbidden, "immutable"}}},
		{"immutable false", func(s *corev1.Secret) { s.Immutable = ptrTo(false) }, []fe{{tForbidden, "immutable"}}},
		{"labels change ok", func(s *corev1.Secret) { s.Labels = map[string]string{"a": "b"} }, nil},
	})
}

// TestSecretStringDataUpdate follows an update the way the server runs it: defaulting of the
// new object (which merges stringData) before ValidateUpdate.
func TestSecretStringDataUpdate(t *testing.T) {
	old := stored(validSecret())
	old.Immutable = ptrTo(true)
	same := old.DeepCopy()
	same.StringData = map[string]string{"username": "admin"}
	Default(same)
	assertErrors(t, ValidateUpdate(same, old))
	changed := old.DeepCopy()
	changed.StringData = map[string]string{"username": "root"}
	Default(changed)
	assertErrors(t, ValidateUpdate(changed, old), fe{tForbidden, "data"})
}

func TestValidateServiceAccount(t *testing.T) {
	runCreateCases(t, validServiceAccount, []mutCase[*corev1.ServiceAccount]{
		{"name not a subdomain", func(sa *corev1.ServiceAccount) { sa.Name = "Builder" }, []fe{{tInvalid, "metadata.name"}}},
		{"name too long", func(sa *corev1.ServiceAccount) { sa.Name = strings.Repeat("a", 254) }, []fe{{tInvalid, "metadata.name"}}},
		{"namespace required", func(sa *corev1.ServiceAccount) { sa.Namespace = "" }, []fe{{tRequired, "metadata.namespace"}}},
		{"dotted name ok", func(sa *corev1.ServiceAccount) { sa.Name = "ci.builder" }, nil},
		// Kubernetes puts no rule on the references: they are resolved when a pod uses the account.
		{"reference to any secret ok", func(sa *corev1.ServiceAccount) {
			sa.Secrets = append(sa.Secrets, corev1.ObjectReference{Name: "missing"})
			sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: "missing"})
		}, nil},
		{"automount off ok", func(sa *corev1.ServiceAccount) { sa.AutomountServiceAccountToken = ptrTo(false) }, nil},
	})
	runUpdateCases(t, validServiceAccount, false, []mutCase[*corev1.ServiceAccount]{
		{"secrets change ok", func(sa *corev1.ServiceAccount) { sa.Secrets = nil }, nil},
		{"uid change", func(sa *corev1.ServiceAccount) { sa.UID = "other" }, []fe{{tInvalid, "metadata.uid"}}},
	})
}

func TestSecretAndServiceAccountNameRule(t *testing.T) {
	for _, obj := range []runtime.Object{&corev1.Secret{}, &corev1.ServiceAccount{}} {
		if got := NameRule(obj); got != RuleDNS1123Subdomain {
			t.Errorf("%T: name rule %s, want %s", obj, got, RuleDNS1123Subdomain)
		}
	}
}
