package cli

import "runtime/debug"

// keeperMemoryLimit bounds the detached keeper's Go memory: past it, a
// refresh that allocates more than usual collects as it goes.
const keeperMemoryLimit = 16 << 20

// quietKeeper makes the detached keeper's waits cost nothing. Go collects
// garbage at least every two minutes, and its scavenger then returns the
// memory bit by bit, each a wake-up, while the keeper allocates only when
// it refreshes. So collection is left to the memory limit, and once a
// refresh is done the keeper collects and returns its memory at once.
func quietKeeper() (idle func()) {
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(keeperMemoryLimit)
	return debug.FreeOSMemory
}
