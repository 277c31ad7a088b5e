package multicall

import (
	"os"
	"path/filepath"

	"github.com/clusterkit/clusterkit/cri/testimage/ckimage"
	"github.com/clusterkit/clusterkit/cri/testimage/pause"
	"github.com/clusterkit/clusterkit/reference/dns/clusterdns"
)

// Names of the programs the executable runs when called by them.
const (
	Pause      = "pause"
	TestImage  = "ckimage"
	ClusterDNS = "clusterdns"
)

// Run runs the program the executable was called as (the base name of argv[0]) and does not
// return; it returns, doing nothing, when that name is none of the programs.
func Run() {
	if len(os.Args) == 0 {
		return
	}
	switch filepath.Base(os.Args[0]) {
	case Pause:
		pause.Main()
		os.Exit(0)
	case TestImage:
		ckimage.Main()
	case ClusterDNS:
		clusterdns.Main()
		os.Exit(0)
	}
}
