// Package discovery builds the API discovery documents of a registry: the aggregated form
// (apidiscovery.k8s.io/v2 APIGroupDiscoveryList, what kubectl asks for first) and the legacy
// form (/api APIVersions, /apis APIGroupList, per group-version APIResourceList), with kinds,
// verbs, short names, categories and subresources.
package discovery
