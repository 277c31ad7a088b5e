// Command ckimage is the binary of clusterkit's ckimage image when it is built from source
// (package ckimage holds the program; the clusterkit executable also runs it when called as
// /ckimage).
package main

import "github.com/clusterkit/clusterkit/cri/testimage/ckimage"

func main() { ckimage.Main() }
