package validation

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxSecretSize is the total size limit of a Secret's data (1 MiB, Kubernetes' MaxSecretSize).
const maxSecretSize = 1 << 20

// redacted stands for a secret value in error messages, as Kubernetes prints it.
const redacted = "<secret contents redacted>"

// ---- Secret ----

// defaultSecret: type Opaque, and stringData merged into data (a stringData key wins over the
// same key of data) and dropped, so it is never stored or returned. Kubernetes does the merge
// when it converts the v1 object to its internal form, before defaulting and validation; here
// it runs wherever the server defaults: on a create and on the new object of every update and
// patch.
func defaultSecret(s *corev1.Secret) {
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = make(map[string][]byte, len(s.StringData))
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	s.StringData = nil
}

// validateSecret: data keys valid config keys, total size at most 1 MiB, and the keys (or
// annotation) each built-in type requires: kubernetes.io/service-account-token the
// kubernetes.io/service-account.name annotation, kubernetes.io/dockercfg and
// kubernetes.io/dockerconfigjson their key holding a JSON object, kubernetes.io/basic-auth
// username or password, kubernetes.io/ssh-auth a non-empty ssh-privatekey, kubernetes.io/tls
// both tls.crt and tls.key. Other types (Opaque, custom ones) need nothing.
func validateSecret(s *corev1.Secret) field.ErrorList {
	var errs field.ErrorList
	dataPath := field.NewPath("data")
	total := 0
	for k, v := range s.Data {
		errs = append(errs, invalidMsgs(dataPath.Key(k), k, utilvalidation.IsConfigMapKey(k))...)
		total += len(v)
	}
	if total > maxSecretSize {
		errs = append(errs, field.TooLong(dataPath, "", maxSecretSize))
	}
	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		// The token controller fills in the uid annotation and the token later.
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			errs = append(errs, field.Required(metadataPath.Child("annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		errs = append(errs, requireJSONKey(s.Data, corev1.DockerConfigKey, dataPath)...)
	case corev1.SecretTypeDockerConfigJson:
		errs = append(errs, requireJSONKey(s.Data, corev1.DockerConfigJsonKey, dataPath)...)
	case corev1.SecretTypeBasicAuth:
		_, hasUser := s.Data[corev1.BasicAuthUsernameKey]
		_, hasPassword := s.Data[corev1.BasicAuthPasswordKey]
		// Either may be empty, but one of the keys must be present.
		if !hasUser && !hasPassword {
			errs = append(errs, field.Required(dataPath.Key(corev1.BasicAuthUsernameKey), ""),
				field.Required(dataPath.Key(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(s.Data[corev1.SSHAuthPrivateKey]) == 0 {
			errs = append(errs, field.Required(dataPath.Key(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		if _, ok := s.Data[corev1.TLSCertKey]; !ok {
			errs = append(errs, field.Required(dataPath.Key(corev1.TLSCertKey), ""))
		}
		if _, ok := s.Data[corev1.TLSPrivateKeyKey]; !ok {
			errs = append(errs, field.Required(dataPath.Key(corev1.TLSPrivateKeyKey), ""))
		}
	}
	return errs
}

// requireJSONKey requires data[key] to be present and to hold a JSON object.
func requireJSONKey(data map[string][]byte, key string, dataPath *field.Path) field.ErrorList {
	v, ok := data[key]
	if !ok {
		return field.ErrorList{field.Required(dataPath.Key(key), "")}
	}
	if err := json.Unmarshal(v, &map[string]any{}); err != nil {
		return field.ErrorList{field.Invalid(dataPath.Key(key), redacted, err.Error())}
	}
	return nil
}

// validateSecretUpdate: type is immutable; an immutable secret keeps its data and stays
// immutable (stringData needs no check: it was merged into data before validation).
func validateSecretUpdate(newS, oldS *corev1.Secret) field.ErrorList {
	errs := apimachineryvalidation.ValidateImmutableField(newS.Type, oldS.Type, field.NewPath("type"))
	if oldS.Immutable == nil || !*oldS.Immutable {
		return errs
	}
	if newS.Immutable == nil || !*newS.Immutable {
		errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
	}
	if !equalBytesMaps(newS.Data, oldS.Data) {
		errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
	}
	return errs
}

// ---- ServiceAccount ----

// validateServiceAccount: the metadata checks, with a DNS-1123 subdomain name. Kubernetes puts
// no rule on secrets, imagePullSecrets or automountServiceAccountToken (a reference to a
// Secret that does not exist is accepted: it is resolved when a pod uses the account), and
// neither does this.
func validateServiceAccount(sa *corev1.ServiceAccount) field.ErrorList {
	return nil
}
