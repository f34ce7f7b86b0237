/**
 * The long stream of the bench's CPU-per-chunk scenario, shared by the mock that sends it and
 * the bench that divides what it measured by it: a model's answer of `LONG_CHUNKS` chunks,
 * `LONG_PER_TICK` per millisecond, so that each tends to arrive in a read of its own, as
 * tokens do (chunks that arrive together cost less each, and would flatter every proxy).
 */
export const LONG_CHUNKS = 2_000
export const LONG_PER_TICK = 2
