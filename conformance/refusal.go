package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// refusal makes the API server under test refuse some writes with a ValidatingAdmissionPolicy
// (admissionregistration.k8s.io/v1, enforced by every kube-apiserver since 1.30): how the specs
// show what a component does when the API server says no, through the API alone and on any
// conforming server.
type refusal struct {
	// name of the policy and of its binding (cluster-scoped: unique per spec).
	name string
	// group and resource ("pods", "pods/binding", "replicasets") the operations apply to.
	group, resource string
	operations      []admissionregistrationv1.OperationType
	// allow is the CEL expression that must hold for a write to pass.
	allow string
	// message is the refusal's message, which components pass on.
	message string
}

// refuse installs r, waits until probe reports the API server refusing (probe makes a dry-run
// write that r refuses and returns its error), and returns the function that lifts r (also
// run at the spec's end).
func refuse(ctx context.Context, g gomega.Gomega, client kubernetes.Interface, c Cleaner, r refusal, patience time.Duration, probe func() error) (lift func()) {
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: r.name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionregistrationv1.Fail),
			MatchConstraints: &admissionregistrationv1.MatchResources{
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: r.operations,
						Rule:       admissionregistrationv1.Rule{APIGroups: []string{r.group}, APIVersions: []string{"v1"}, Resources: []string{r.resource}},
					},
				}},
			},
			Validations: []admissionregistrationv1.Validation{{Expression: r.allow, Message: r.message}},
		},
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: r.name},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        r.name,
			ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	policies := client.AdmissionregistrationV1().ValidatingAdmissionPolicies()
	bindings := client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings()
	_, err := policies.Create(ctx, policy, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating ValidatingAdmissionPolicy "+r.name)
	_, err = bindings.Create(ctx, binding, metav1.CreateOptions{})
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "creating ValidatingAdmissionPolicyBinding "+r.name)
	lift = func() {
		bg := context.Background()
		_ = bindings.Delete(bg, r.name, metav1.DeleteOptions{})
		_ = policies.Delete(bg, r.name, metav1.DeleteOptions{})
	}
	c.Cleanup(lift)
	g.Eventually(func() error {
		err := probe()
		if err == nil {
			return fmt.Errorf("a dry-run %v of %s was accepted", r.operations, r.resource)
		}
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
			return nil
		}
		return err
	}).WithContext(ctx).WithTimeout(patience).WithPolling(200*time.Millisecond).Should(gomega.Succeed(),
		fmt.Sprintf("the API server under test must enforce ValidatingAdmissionPolicies on %v of %s (admissionregistration.k8s.io/v1, as every kube-apiserver since 1.30) and accept dryRun=All there", r.operations, r.resource))
	return lift
}
