package apiserver

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"

	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// Admission plugins (k8s.io/apiserver/pkg/admission) run on every create, update and delete of
// a stored resource, as in kube-apiserver: a plugin implementing admission.MutationInterface
// runs after defaulting and before validation and may change the object; one implementing
// admission.ValidationInterface runs after validation and before the write and may only refuse
// it. Config.Admission is usually an admission.NewChainHandler of several plugins (Pod
// Security, NodeRestriction, ServiceAccount ...); nil admits everything.

// admissionAttributes describes one write for the admission plugins.
func (s *Server) admissionAttributes(ctx context.Context, op admission.Operation, res *registry.Resource, sub, namespace, name string, obj, old runtime.Object, dry bool) admission.Attributes {
	var opts runtime.Object
	switch op {
	case admission.Create:
		opts = &metav1.CreateOptions{}
	case admission.Update:
		opts = &metav1.UpdateOptions{}
	case admission.Delete:
		opts = &metav1.DeleteOptions{}
	}
	return admission.NewAttributesRecord(obj, old, res.GroupVersionKind(), namespace, name,
		res.GroupVersionResource, sub, op, opts, dry, requestUser(ctx))
}

// admitMutating runs the mutating plugins on a write.
func (s *Server) admitMutating(ctx context.Context, a admission.Attributes) error {
	m, ok := s.cfg.Admission.(admission.MutationInterface)
	if !ok || !m.Handles(a.GetOperation()) {
		return nil
	}
	return m.Admit(ctx, a, s.objectInterfaces)
}

// admitValidating runs the validating plugins on a write.
func (s *Server) admitValidating(ctx context.Context, a admission.Attributes) error {
	v, ok := s.cfg.Admission.(admission.ValidationInterface)
	if !ok || !v.Handles(a.GetOperation()) {
		return nil
	}
	return v.Validate(ctx, a, s.objectInterfaces)
}
