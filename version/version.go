// Package version reports the build's version, set at link time with
// -ldflags "-X github.com/ingresslab/ingresslab/version.Version=v1.2.3" and
// otherwise taken from the module build information.
package version

import (
	"runtime"
	"runtime/debug"
)

// Version of ingresslab; "dev" for untagged builds.
var Version = "dev"

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	Revision  string `json:"revision,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the version information of the running binary.
func Get() Info {
	info := Info{Version: Version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				info.Revision = s.Value
			}
		}
		if info.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
	}
	return info
}

// String is "ingresslab VERSION (REVISION) GO PLATFORM".
func (i Info) String() string {
	s := i.Version
	if i.Revision != "" {
		r := i.Revision
		if len(r) > 12 {
			r = r[:12]
		}
		s += " (" + r + ")"
	}
	return s + " " + i.GoVersion + " " + i.Platform
}
