package runner

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// ControllerRef is the owner reference a controller puts on what it creates
// or adopts: controller=true and blockOwnerDeletion=true.
func ControllerRef(owner metav1.Object, gvk schema.GroupVersionKind) metav1.OwnerReference {
	t := true
	return metav1.OwnerReference{
		APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind,
		Name: owner.GetName(), UID: owner.GetUID(),
		Controller: &t, BlockOwnerDeletion: &t,
	}
}

// AdoptPatch is a strategic merge patch that adds ref to the owner
// references of the object whose uid is dependent; the uid makes the patch
// fail if the object was replaced by another of the same name.
func AdoptPatch(ref metav1.OwnerReference, dependent types.UID) []byte {
	return mustJSON(map[string]any{"metadata": map[string]any{
		"ownerReferences": []metav1.OwnerReference{ref},
		"uid":             dependent,
	}})
}

// ReleasePatch is a strategic merge patch that removes the owner reference
// with uid owner from the object whose uid is dependent.
func ReleasePatch(owner, dependent types.UID) []byte {
	return mustJSON(map[string]any{"metadata": map[string]any{
		"ownerReferences": []map[string]any{{"$patch": "delete", "uid": owner}},
		"uid":             dependent,
	}})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only maps of strings and API types are marshalled here.
		panic(err)
	}
	return b
}
