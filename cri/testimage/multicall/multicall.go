package multicall

import (
	"os"
	"path/filepath"

	"github.com/clusterkit/clusterkit/cri/images"
	"github.com/clusterkit/clusterkit/cri/testimage/ckimage"
	"github.com/clusterkit/clusterkit/cri/testimage/pause"
	"github.com/clusterkit/clusterkit/reference/dns/clusterdns"
)

// Run runs the program the executable was called as (the base name of argv[0]) and does not
// return; it returns, doing nothing, when that name is none of the programs.
func Run() {
	if len(os.Args) == 0 {
		return
	}
	switch filepath.Base(os.Args[0]) {
	case images.PauseProgramName:
		pause.Main()
		os.Exit(0)
	case images.TestProgramName:
		ckimage.Main()
	case images.DNSProgramName:
		clusterdns.Main()
		os.Exit(0)
	}
}
