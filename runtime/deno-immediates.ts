/**
 * setImmediate for Deno, so that a run of immediates cannot keep the sockets waiting.
 *
 * While immediates keep coming (each one scheduling the next, as the relay's slices of work and
 * batches of settles do when thousands of streams end at once), Deno's event loop never waits,
 * and its I/O driver looks at the sockets only every sixty-odd runs of it: with a few
 * milliseconds of work per immediate, a health check that arrived meanwhile waited 250 ms to
 * several seconds. Node looks at its sockets between every two immediates.
 *
 * Here, immediates go on as Deno's own until a run of them has lasted YIELD_MS; the next ones
 * then go through a timer, which makes the loop wait, and so look at the sockets, before they
 * run. Order is kept: once one goes through a timer, all do until those have run. A quiet relay
 * never has such a run and keeps plain immediates (a timer costs a millisecond or more).
 */

/** How long immediates may run back to back before the loop is made to look at its sockets. */
const YIELD_MS = 10

/**
 * A gap with no immediate that starts a new run. Between two immediates the loop may as well
 * have run socket callbacks without ever waiting: thousands of ending streams keep it busy
 * that way too, and such a run must count as one.
 */
const IDLE_MS = 1

type Handle = ReturnType<typeof setImmediate> | ReturnType<typeof setTimeout>

const nativeSetImmediate = globalThis.setImmediate
const nativeClearImmediate = globalThis.clearImmediate

/** Immediates scheduled and not yet run or cleared. */
let pending = 0
/** Of those, the ones that go through a timer. */
let viaTimer = 0
/**
 * When the current run of immediates began: at the last wait for a timer, or at the first one
 * scheduled after the loop had none for IDLE_MS (it may have waited for its sockets then).
 */
let runStarted = 0
/** When the last immediate returned. */
let lastRan = 0
/**
 * Handles still pending, each with whether it went through a timer: a clear is counted only
 * once and not after the run, and clears the handle the way it was made.
 */
const live = new WeakMap<object, boolean>()

const patchedSetImmediate = <TArgs extends Array<unknown>>(callback: (...args: TArgs) => void, ...args: TArgs): Handle => {
  const now = performance.now()
  if (pending === 0 && now - lastRan >= IDLE_MS) runStarted = now
  pending++
  // Order holds: the run's start moves on only once no immediate waits for a timer.
  const yielding = now - runStarted >= YIELD_MS
  let handle: Handle
  const run = () => {
    live.delete(handle)
    if (yielding && --viaTimer === 0) {
      // The loop waited for this timer: it has looked at its sockets, and a new run begins.
      runStarted = performance.now()
    }
    // Counted as pending until it returns: an immediate it schedules carries the run on.
    try {
      callback(...args)
    } finally {
      pending--
      lastRan = performance.now()
    }
  }
  if (yielding) {
    viaTimer++
    handle = setTimeout(run, 0)
  } else {
    handle = nativeSetImmediate(run)
  }
  live.set(handle, yielding)
  return handle
}

const patchedClearImmediate = (handle: Handle | undefined): void => {
  if (handle === undefined) return
  const throughTimer = live.get(handle)
  if (throughTimer === undefined) return
  live.delete(handle)
  pending--
  if (throughTimer) {
    viaTimer--
    clearTimeout(handle as ReturnType<typeof setTimeout>)
  } else {
    nativeClearImmediate(handle as ReturnType<typeof setImmediate>)
  }
}

/** Replaces the global setImmediate and clearImmediate (what the relay and its libraries call). */
export const installFairImmediates = (): void => {
  Object.assign(globalThis, { setImmediate: patchedSetImmediate, clearImmediate: patchedClearImmediate })
}
