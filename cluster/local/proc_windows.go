package local

// Start refuses to run outside Linux (checkOS), so stale control planes
// are never looked for here.

func processExists(int) bool { return true }

func killProcess(int) {}
