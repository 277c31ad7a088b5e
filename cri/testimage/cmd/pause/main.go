// Command pause is the binary of clusterkit's pause image when it is built from source
// (package pause holds the program; the clusterkit executable also runs it when called as
// /pause).
package main

import "github.com/clusterkit/clusterkit/cri/testimage/pause"

func main() { pause.Main() }
