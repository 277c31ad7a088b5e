package version

import (
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"

	apiversion "k8s.io/apimachinery/pkg/version"
)

// LibraryModules are the modules whose version names the Kubernetes release clusterkit is
// built against, the first one linked winning: k8s.io/client-go v0.X.Y is Kubernetes v1.X.Y;
// k8s.io/apimachinery (linked by this package) stands in where client-go is not linked.
var LibraryModules = [...]string{"k8s.io/client-go", "k8s.io/apimachinery"}

// Unknown is the GitCommit of a build without VCS information (go run, go test).
const Unknown = "unknown"

// Fallback is the GitVersion reported when the build lists no module of LibraryModules: go test
// binaries carry no dependency list. TestFallbackMatchesGoMod keeps it equal to go.mod's
// k8s.io/client-go.
const Fallback = "v1.37.2"

// epoch is kube's buildDate when the build time is unknown.
const epoch = "1970-01-01T00:00:00Z"

// libraryVersion matches a k8s.io staging module version: v0.MINOR.PATCH[-pre].
var libraryVersion = regexp.MustCompile(`^v0\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$`)

// Get returns the version of this binary.
func Get() apiversion.Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo computes the version from bi (nil: nothing known about the build).
func FromBuildInfo(bi *debug.BuildInfo) apiversion.Info {
	info := apiversion.Info{
		GitVersion:   Fallback,
		GitCommit:    Unknown,
		GitTreeState: "",
		BuildDate:    epoch,
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		if gv, ok := libraryKubernetesVersion(bi.Deps); ok {
			info.GitVersion = gv
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if s.Value != "" {
					info.GitCommit = s.Value
				}
			case "vcs.modified":
				switch s.Value {
				case "true":
					info.GitTreeState = "dirty"
				case "false":
					info.GitTreeState = "clean"
				}
			case "vcs.time":
				if s.Value != "" {
					info.BuildDate = s.Value
				}
			}
		}
	}
	major, minor, _ := MajorMinor(info.GitVersion)
	info.Major, info.Minor = strconv.Itoa(major), strconv.Itoa(minor)
	// As kube-apiserver: it emulates its own version and stays compatible with one minor back.
	info.EmulationMajor, info.EmulationMinor = info.Major, info.Minor
	info.MinCompatibilityMajor, info.MinCompatibilityMinor = info.Major, strconv.Itoa(max(minor-1, 0))
	return info
}

// KubernetesVersion maps a k8s.io staging module version (v0.37.2) to the Kubernetes release
// it belongs to (v1.37.2).
func KubernetesVersion(moduleVersion string) (string, bool) {
	m := libraryVersion.FindStringSubmatch(moduleVersion)
	if m == nil {
		return "", false
	}
	return "v1." + m[1] + "." + m[2] + m[3], true
}

// gitVersion matches a Kubernetes gitVersion: vMAJOR.MINOR.PATCH with optional pre-release and
// build metadata.
var gitVersion = regexp.MustCompile(`^v(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$`)

// MajorMinor parses a gitVersion ("v1.37.2", "v1.37.2-clusterkit") into its major and minor.
func MajorMinor(gv string) (major, minor int, ok bool) {
	m := gitVersion.FindStringSubmatch(gv)
	if m == nil {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(m[1])
	minor, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return major, minor, true
}

// libraryKubernetesVersion is the Kubernetes version of the first of LibraryModules in deps.
func libraryKubernetesVersion(deps []*debug.Module) (string, bool) {
	for _, path := range LibraryModules {
		for _, d := range deps {
			if d.Path != path {
				continue
			}
			v := d.Version
			if d.Replace != nil && d.Replace.Version != "" {
				v = d.Replace.Version
			}
			if gv, ok := KubernetesVersion(v); ok {
				return gv, true
			}
		}
	}
	return "", false
}
