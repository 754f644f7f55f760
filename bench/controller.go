package bench

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ingresslab/ingresslab/launch"
	"github.com/ingresslab/ingresslab/profile"
)

// controllerProc is the controller under test, launched from its profile
// (with its own least-privilege identity and objects, as in the suites).
type controllerProc struct {
	*launch.Controller
}

// generationInfo is the JSON form of the reference controller's
// /generation?format=json.
type generationInfo struct {
	Generation uint64 `json:"generation"`
	Ready      bool   `json:"ready"`
	Stats      struct {
		Hosts  int `json:"hosts"`
		Routes int `json:"routes"`
	} `json:"stats"`
}

// Generation reads the admin /generation endpoint; ok is false when the
// controller has none (other controllers): callers then fall back to
// probing traffic only.
func (c *controllerProc) Generation(ctx context.Context) (generationInfo, bool) {
	var g generationInfo
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.AdminURL+"/generation?format=json", nil)
	if err != nil {
		return g, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return g, false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &g) != nil {
		return g, false
	}
	return g, true
}

// waitGeneration polls until the generation exceeds after, or timeout.
func (c *controllerProc) waitGeneration(ctx context.Context, after uint64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if g, ok := c.Generation(ctx); !ok || g.Generation > after {
			return ok
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return false
}

// versionOf is the profile's version, "unknown" when empty.
func versionOf(p *profile.Profile) string {
	if strings.TrimSpace(p.Version) == "" {
		return "unknown"
	}
	return p.Version
}
