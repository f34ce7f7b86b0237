/**
 * Preloaded into the relay by the idle-stream scenario only (with `--expose-gc`): SIGUSR2 runs
 * a full garbage collection, so the resident memory read next is what the relay keeps, not
 * garbage the collector has not reached yet.
 */
process.on("SIGUSR2", () => (globalThis as { gc?: () => void }).gc?.())
