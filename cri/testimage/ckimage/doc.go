// Package ckimage is the program of clusterkit's test image
// (clusterkit.local/ckimage:v1, at /ckimage). Its command language is
// defined in package behavior, which the simulated runtime also acts out.
// The image's binary is either cmd/ckimage or the clusterkit executable
// itself, called as /ckimage (package multicall).
package ckimage
