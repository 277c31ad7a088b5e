package job

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// matchFailurePolicy returns the action of the first podFailurePolicy rule a Failed pod
// matches, with a message naming the match (nil when no rule matches: the failure counts).
func matchFailurePolicy(policy *batchv1.PodFailurePolicy, p *corev1.Pod) (*batchv1.PodFailurePolicyAction, string) {
	if policy == nil || p.Status.Phase != corev1.PodFailed {
		return nil, ""
	}
	for i, rule := range policy.Rules {
		if req := rule.OnExitCodes; req != nil {
			for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
				t := cs.State.Terminated
				if t == nil || t.ExitCode == 0 || (req.ContainerName != nil && *req.ContainerName != cs.Name) {
					continue
				}
				in := slices.Contains(req.Values, t.ExitCode)
				if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) == in {
					return &rule.Action, fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
						cs.Name, p.Namespace, p.Name, t.ExitCode, rule.Action, i)
				}
			}
			continue
		}
		for _, pat := range rule.OnPodConditions {
			for _, c := range p.Status.Conditions {
				if c.Type == pat.Type && c.Status == pat.Status {
					return &rule.Action, fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d",
						p.Namespace, p.Name, c.Type, rule.Action, i)
				}
			}
		}
	}
	return nil, ""
}

// matchSuccessPolicy returns the message of the first successPolicy rule the completed
// indexes of an Indexed Job satisfy: all its succeededIndexes (or succeededCount of them)
// completed, or, without succeededIndexes, succeededCount indexes completed.
func matchSuccessPolicy(policy *batchv1.SuccessPolicy, completions int, done map[int]bool) (string, bool) {
	if policy == nil || len(done) == 0 {
		return "", false
	}
	for i, rule := range policy.Rules {
		if rule.SucceededIndexes != nil {
			want := parseIndexes(*rule.SucceededIndexes, completions)
			if len(want) == 0 {
				continue
			}
			have := 0
			for ix := range want {
				if done[ix] {
					have++
				}
			}
			if have == len(want) || (rule.SucceededCount != nil && have >= int(*rule.SucceededCount)) {
				return fmt.Sprintf("Matched rules at index %d", i), true
			}
			continue
		}
		if rule.SucceededCount != nil && len(done) >= int(*rule.SucceededCount) {
			return fmt.Sprintf("Matched rules at index %d", i), true
		}
	}
	return "", false
}
