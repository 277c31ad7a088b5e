package knownbad_test

import (
	"flag"
	"fmt"
	"os"
	"testing"
)

// knownBadParallel is how many known-bad checks run at once when go test is not given
// -parallel. A check mostly waits: a spec that must reject a bug waits out its Eventually
// before it fails, on an in-process cluster that is idle meanwhile, so go test's default
// (GOMAXPROCS, 2 here) left the CPU idle for most of the package's run.
const knownBadParallel = 6

// TestMain raises the default of -parallel for this package (an explicit -parallel wins).
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		if err := flag.Set("test.parallel", fmt.Sprint(knownBadParallel)); err != nil {
			fmt.Fprintln(os.Stderr, "knownbad: setting -test.parallel:", err)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}
