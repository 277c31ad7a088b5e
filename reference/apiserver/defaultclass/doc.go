// Package defaultclass holds the admission plugins that give new objects the cluster's default
// class, as kube-apiserver's DefaultStorageClass and DefaultIngressClass plugins (both on by
// default) do: a PersistentVolumeClaim created without a storage class gets the default
// StorageClass, an Ingress created without a class gets the default IngressClass. Among
// several defaults the newest wins (then the first by name).
package defaultclass
