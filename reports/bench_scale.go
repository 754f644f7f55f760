package reports

// The scale scenario's results (bench --scenario scale).

// ScaleResult is the controller's cost at growing numbers of Ingresses.
type ScaleResult struct {
	Points []ScalePoint `json:"points"`
	// Slopes from a least-squares fit of memory against routes.
	RSSBytesPerRoute  float64 `json:"rssBytesPerRoute"`
	HeapBytesPerRoute float64 `json:"heapBytesPerRoute"`
	// Fit is the least-squares fit of the process tree's RSS against routes
	// (host x path pairs), schema 2.
	Fit *LinearFit `json:"fit,omitempty"`
	// PeakFit is the same fit over each size's PeakTreeRSSBytes (reports
	// from before it have none).
	PeakFit *LinearFit `json:"peakFit,omitempty"`
}

// LinearFit is y = Intercept + Slope x with its residual.
type LinearFit struct {
	Points    int     `json:"points"`
	Slope     float64 `json:"slope"`
	Intercept float64 `json:"intercept"`
	// ResidualStd is the standard deviation of the residuals (y units);
	// R2 the coefficient of determination.
	ResidualStd float64 `json:"residualStd"`
	R2          float64 `json:"r2"`
	// Note says why the fit is weak (fewer than 3 points, negative slope).
	Note string `json:"note,omitempty"`
}

// ScalePoint is one measured size.
type ScalePoint struct {
	Ingresses int `json:"ingresses"`
	// Routes is the served table's route count after sync.
	Routes int `json:"routes"`
	// ApplyToSyncMillis is from the first write of this step to a full table
	// answering a probe.
	ApplyToSyncMillis float64 `json:"applyToSyncMillis"`
	// RestartSyncMillis is from a controller (re)start with the objects
	// present to a full table answering a probe; 0 when not measured.
	RestartSyncMillis float64 `json:"restartSyncMillis"`
	// RSSBytes and HeapAllocBytes are read after the restart and
	// ServedRequests requests over the routes (ServeErrors of them not
	// 200); SyncRSSBytes right after the restart's sync (before
	// ServedRequests; reports before them read RSS only there).
	RSSBytes       uint64 `json:"rssBytes"`
	HeapAllocBytes uint64 `json:"heapAllocBytes"`
	SyncRSSBytes   uint64 `json:"syncRSSBytes,omitempty"`
	ServedRequests int    `json:"servedRequests,omitempty"`
	ServeErrors    int    `json:"serveErrors,omitempty"`
	// ServeError is the first of ServeErrors.
	ServeError string `json:"serveError,omitempty"`
	// TreeRSSBytes is the RSS summed over the controller's process tree and
	// Processes its size (schema 2).
	TreeRSSBytes uint64 `json:"treeRSSBytes,omitempty"`
	Processes    int    `json:"processes,omitempty"`
	// PeakTreeRSSBytes is the highest process-tree RSS sampled (PeakSamples
	// times, every 50 ms) while ServedRequests were served;
	// StartPeakTreeRSSBytes the highest from the restart to its sync. Both
	// 0 in reports from before them.
	PeakTreeRSSBytes      uint64 `json:"peakTreeRSSBytes,omitempty"`
	PeakSamples           int    `json:"peakSamples,omitempty"`
	StartPeakTreeRSSBytes uint64 `json:"startPeakTreeRSSBytes,omitempty"`
}
