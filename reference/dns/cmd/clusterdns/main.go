// Command clusterdns is the binary of clusterkit's clusterdns image when it is built from source
// (package clusterdns holds the program; the clusterkit executable also runs it when called as
// /clusterdns).
package main

import "github.com/clusterkit/clusterkit/reference/dns/clusterdns"

func main() { clusterdns.Main() }
