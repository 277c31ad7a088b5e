package clusterroleaggregation

import (
	"context"
	"fmt"
	"reflect"
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// Name of the controller in a manager (kube-controller-manager's name for it).
const Name = "clusterrole-aggregation"

// New returns the factory of the aggregation controller. Its keys are names of ClusterRoles
// with an aggregationRule.
func New() runner.Factory {
	return func(c runner.Context) (interfaces.Controller, error) {
		inf := c.Informers.Rbac().V1().ClusterRoles()
		ctl := &controller{client: c.Client, roles: inf.Lister()}
		// Any change to any ClusterRole may change what an aggregated one selects.
		enqueueAll := func(any) {
			all, err := ctl.roles.List(labels.Everything())
			if err != nil {
				return
			}
			for _, r := range all {
				if r.AggregationRule != nil {
					c.Queue.Add(r.Name)
				}
			}
		}
		if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: enqueueAll, UpdateFunc: func(_, n any) { enqueueAll(n) }, DeleteFunc: enqueueAll,
		}); err != nil {
			return nil, err
		}
		return ctl, nil
	}
}

type controller struct {
	client kubernetes.Interface
	roles  rbaclisters.ClusterRoleLister
}

func (c *controller) Name() string { return Name }

// Reconcile sets the rules of the aggregated ClusterRole key to the union of the rules of the
// ClusterRoles its selectors match, in the order of their names, without duplicates.
func (c *controller) Reconcile(ctx context.Context, key string) (interfaces.ReconcileResult, error) {
	role, err := c.roles.Get(key)
	if apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, nil
	}
	if err != nil {
		return interfaces.ReconcileResult{}, err
	}
	if role.AggregationRule == nil {
		return interfaces.ReconcileResult{}, nil
	}
	var rules []rbacv1.PolicyRule
	seen := map[string]bool{}
	for _, sel := range role.AggregationRule.ClusterRoleSelectors {
		selector, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			// Validation refuses such selectors; nothing to aggregate.
			continue
		}
		matched, err := c.roles.List(selector)
		if err != nil {
			return interfaces.ReconcileResult{}, err
		}
		sort.Slice(matched, func(i, j int) bool { return matched[i].Name < matched[j].Name })
		for _, m := range matched {
			if m.Name == role.Name {
				continue
			}
			for _, r := range m.Rules {
				k := r.String()
				if seen[k] {
					continue
				}
				seen[k] = true
				rules = append(rules, *r.DeepCopy())
			}
		}
	}
	if equalRules(role.Rules, rules) {
		return interfaces.ReconcileResult{}, nil
	}
	cp := role.DeepCopy()
	cp.Rules = rules
	// A conflict means a newer version is on its way through the informer: the retry reads it.
	if _, err := c.client.RbacV1().ClusterRoles().Update(ctx, cp, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return interfaces.ReconcileResult{}, fmt.Errorf("aggregating ClusterRole %s: %w", key, err)
	}
	return interfaces.ReconcileResult{}, nil
}

// equalRules compares rule lists, nil and empty alike.
func equalRules(a, b []rbacv1.PolicyRule) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}
