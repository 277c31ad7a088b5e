package registry

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
)

// VersionConverter converts the objects of one served version of a resource to and from the
// version they are stored at, for resources whose versions hold different schemas (custom
// resources whose CustomResourceDefinition converts through a webhook). The storage layer
// calls it on every write (before the object is encoded) and on every read, list item and
// watch event (after the stored object is decoded); a resource without one stores and reads
// its objects at its own version, apiVersion rewritten.
type VersionConverter interface {
	// ToStorage returns obj, an object at the resource's version, converted to the version
	// objects are stored at.
	ToStorage(ctx context.Context, obj runtime.Object) (runtime.Object, error)
	// FromStorage returns obj, a stored object at whatever version its apiVersion names,
	// converted to the resource's version.
	FromStorage(ctx context.Context, obj runtime.Object) (runtime.Object, error)
}

// ListVersionConverter is a VersionConverter that also converts a page of stored objects at
// once (one webhook call for a list, as kube-apiserver sends one ConversionReview per list).
type ListVersionConverter interface {
	VersionConverter
	// FromStorageList returns objs, stored objects at any versions, converted to the
	// resource's version, in the same order.
	FromStorageList(ctx context.Context, objs []runtime.Object) ([]runtime.Object, error)
}

// StoredTyper is implemented by the VersionConverters of built-in kinds served at a version
// whose Go type differs from the stored one (autoscaling/v1 HorizontalPodAutoscalers stored as
// autoscaling/v2): the storage layer decodes stored values into NewStored's type before
// FromStorage. Converters without it get stored values decoded into the resource's own type
// (custom resources: unstructured, whatever the version).
type StoredTyper interface {
	NewStored() runtime.Object
}
