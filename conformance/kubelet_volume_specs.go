package conformance

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Sources of the kubelet's volume and environment behaviours.
const (
	srcSecretsInPods   = "Kubernetes: Secrets, using Secrets as files from a Pod and as environment variables (kubernetes.io/docs/concepts/configuration/secret), upstream e2e common/storage/secrets_volume.go and common/node/secrets.go"
	srcProjectedTokens = "Kubernetes: projected volumes, serviceAccountToken (kubernetes.io/docs/concepts/storage/projected-volumes) and bound service account tokens (kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-tokens)"
	srcMissingSecret   = "Kubernetes: Secrets, optional Secrets (kubernetes.io/docs/concepts/configuration/secret/#restriction-secret-must-exist): a pod referencing a missing Secret does not start"
)

func kubeletVolumeSpecs() []spec[*kubeletEnv] {
	return []spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.volumes.secret-file-and-env",
			"a container MUST read a Secret's key as a file of a secret volume mounted where asked and as an environment variable from secretKeyRef, and a ConfigMap's keys as environment variables from envFrom with its prefix",
			srcSecretsInPods), specSecretFileAndEnv},
		{kubeletBehavior("kubelet.volumes.projected-token",
			"a container MUST read from a projected volume a token of its pod's ServiceAccount for the audience asked and bound to the pod (sub system:serviceaccount:<namespace>:<name>, aud, the pod's name and uid in the kubernetes.io claim), and its namespace from a downwardAPI item of the same volume",
			srcProjectedTokens), specProjectedToken},
		{kubeletBehavior("kubelet.volumes.missing-secret-waits",
			"a pod whose secret volume names a Secret that does not exist (not optional) MUST NOT start: it MUST stay Pending with its container waiting as ContainerCreating, and it MUST start once the Secret is created",
			srcMissingSecret), specMissingSecretWaits},
	}
}

// cat runs /ckimage cat path in the pod's container and returns what it printed.
func (e *kubeletEnv) cat(ctx context.Context, g gomega.Gomega, pod, path string) string {
	out, stderr, code, err := e.exec(ctx, pod, true, "/ckimage", "cat", path)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "exec cat %s", path)
	g.ExpectWithOffset(1, code).To(gomega.BeZero(), "cat %s: %s", path, stderr)
	return out
}

func specSecretFileAndEnv(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	_, err := e.client.CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"pass": []byte("s3cret-value"), "user": []byte("admin")},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the Secret")
	_, err = e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "conf"}, Data: map[string]string{"mode": "fast"},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the ConfigMap")
	p := e.testPod("reader", "serve-hostname")
	p.Spec.Volumes = []corev1.Volume{{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}}}
	c := &p.Spec.Containers[0]
	c.VolumeMounts = []corev1.VolumeMount{{Name: "creds", MountPath: "/etc/creds", ReadOnly: true}}
	c.Env = []corev1.EnvVar{{Name: "PASS", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "pass"}}}}
	c.EnvFrom = []corev1.EnvFromSource{{Prefix: "CONF_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}}}}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "reader", "Running", startTimeout, isRunning)
	g.Expect(e.cat(ctx, g, "reader", "/etc/creds/pass")).To(gomega.Equal("s3cret-value"), "the Secret's key as a file")
	g.Expect(e.cat(ctx, g, "reader", "/etc/creds/user")).To(gomega.Equal("admin"), "the Secret's other key as a file")
	out, stderr, code, err := e.exec(ctx, "reader", true, "/ckimage", "env")
	ok(g, err, "exec env")
	g.Expect(code).To(gomega.BeZero(), "env: %s", stderr)
	lines := strings.Split(out, "\n")
	g.Expect(lines).To(gomega.ContainElement("PASS=s3cret-value"), "the Secret's key from secretKeyRef in the environment")
	g.Expect(lines).To(gomega.ContainElement("CONF_mode=fast"), "the ConfigMap's key from envFrom with its prefix in the environment")
}

// jwtClaims decodes the claims of a JWT without verifying it.
func jwtClaims(g gomega.Gomega, token string) map[string]any {
	parts := strings.Split(strings.TrimSpace(token), ".")
	g.ExpectWithOffset(1, parts).To(gomega.HaveLen(3), "the token is not a JWT: %q", token)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "decoding the token's claims")
	var claims map[string]any
	g.ExpectWithOffset(1, json.Unmarshal(b, &claims)).To(gomega.Succeed(), "parsing the token's claims")
	return claims
}

func specProjectedToken(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	_, err := e.client.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reader"}}, metav1.CreateOptions{})
	ok(g, err, "creating the ServiceAccount")
	const audience = "clusterkit-conformance"
	p := e.testPod("token", "serve-hostname")
	p.Spec.ServiceAccountName = "reader"
	p.Spec.Volumes = []corev1.Volume{{Name: "identity", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: audience, ExpirationSeconds: ptr.To[int64](3600), Path: "token"}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		}}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "identity", MountPath: "/var/run/ck-identity", ReadOnly: true}}
	created := e.create(ctx, g, p)
	e.waitPod(ctx, g, "token", "Running", startTimeout, isRunning)
	g.Expect(e.cat(ctx, g, "token", "/var/run/ck-identity/namespace")).To(gomega.Equal(e.ns), "the namespace file")
	claims := jwtClaims(g, e.cat(ctx, g, "token", "/var/run/ck-identity/token"))
	g.Expect(claims["sub"]).To(gomega.Equal("system:serviceaccount:"+e.ns+":reader"), "the token's subject")
	aud, _ := claims["aud"].([]any)
	if s, isString := claims["aud"].(string); isString {
		aud = []any{s}
	}
	g.Expect(aud).To(gomega.ContainElement(audience), "the token's audience")
	k8s, _ := claims["kubernetes.io"].(map[string]any)
	pod, _ := k8s["pod"].(map[string]any)
	g.Expect(pod).To(gomega.HaveKeyWithValue("name", "token"), "the token is bound to the pod: %v", claims)
	g.Expect(pod).To(gomega.HaveKeyWithValue("uid", string(created.UID)), "the token is bound to the pod's uid: %v", claims)
}

func specMissingSecretWaits(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("waits", "serve-hostname")
	p.Spec.Volumes = []corev1.Volume{{Name: "late", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "late"}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "late", MountPath: "/etc/late"}}
	e.create(ctx, g, p)
	creating := func(p *corev1.Pod) bool {
		cs := containerStatus(p)
		return cs.State.Waiting != nil && cs.State.Waiting.Reason == "ContainerCreating"
	}
	e.waitPod(ctx, g, "waits", "a ContainerCreating status", startTimeout, creating)
	// It stays so while the Secret is missing.
	for range 3 {
		got, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "waits", metav1.GetOptions{})
		ok(g, err, "reading the pod")
		g.Expect(got.Status.Phase).To(gomega.Equal(corev1.PodPending), "a pod whose Secret is missing: %s", describeStatus(got))
		g.Expect(creating(got)).To(gomega.BeTrue(), "a pod whose Secret is missing: %s", describeStatus(got))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	_, err := e.client.CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "late"}, Data: map[string][]byte{"k": []byte("here")},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the Secret")
	e.waitPod(ctx, g, "waits", "Running once the Secret exists", startTimeout, isRunning)
	g.Expect(e.cat(ctx, g, "waits", "/etc/late/k")).To(gomega.Equal("here"), "the Secret's key once it exists")
}
