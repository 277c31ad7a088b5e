// Package customresource builds the registry entries of the custom resources a
// CustomResourceDefinition defines: one entry per served version, whose objects are
// *unstructured.Unstructured, with apiextensions-apiserver's structural schema, pruning,
// defaulting, OpenAPI and CEL validation (its customresource strategy), status and scale
// subresources and additionalPrinterColumns tables.
package customresource
