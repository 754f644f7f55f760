package bench

import (
	"strings"

	"github.com/ingresslab/ingresslab/launch"
	"github.com/ingresslab/ingresslab/profile"
)

// controllerProc is the controller under test, launched from its profile
// (with its own least-privilege identity and objects, as in the suites).
// The bench observes it only from the outside (HTTP and /proc), the same
// for every controller: no controller-specific endpoint is asked.
type controllerProc struct {
	*launch.Controller
}

// versionOf is the profile's version, "unknown" when empty.
func versionOf(p *profile.Profile) string {
	if strings.TrimSpace(p.Version) == "" {
		return "unknown"
	}
	return p.Version
}
