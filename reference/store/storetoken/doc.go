// Package storetoken encodes and decodes the opaque continue tokens that
// reference stores hand out for paginated lists: the revision the first page
// was read at and the last key returned.
package storetoken
