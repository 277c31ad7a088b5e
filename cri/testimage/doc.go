// Package testimage groups clusterkit's container programs: the test image
// program (cmd/ckimage), the pause program (cmd/pause) and the command
// language both runtimes share (behavior). Package images builds them into
// OCI images.
package testimage
