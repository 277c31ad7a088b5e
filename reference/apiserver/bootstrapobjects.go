package apiserver

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// ensureBootstrapObjects creates the objects every cluster has (each resource's Bootstrap: the
// system PriorityClasses, the mandatory FlowSchemas and PriorityLevelConfigurations) when they
// are missing, defaulted and validated as a create.
func (s *Server) ensureBootstrapObjects(ctx context.Context) error {
	for _, res := range s.registry().Resources() {
		if res.Bootstrap == nil {
			continue
		}
		for _, obj := range res.Bootstrap() {
			m := objectMeta(obj)
			if _, err := s.objects.Get(ctx, res, m.GetNamespace(), m.GetName()); err == nil {
				continue
			} else if !apierrors.IsNotFound(err) {
				return fmt.Errorf("reading %s %s: %w", res.GroupResource(), m.GetName(), err)
			}
			res.Strategy.Default(obj)
			if err := s.prepareCreate(res, obj); err != nil {
				return err
			}
			if errs := res.Strategy.Validate(obj); len(errs) > 0 {
				return fmt.Errorf("bootstrap %s %s: %w", res.GroupResource(), m.GetName(), errs.ToAggregate())
			}
			if _, err := s.objects.Create(ctx, res, obj); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("creating %s %s: %w", res.GroupResource(), m.GetName(), err)
			}
		}
	}
	return nil
}
