/**
 * Work spread over turns of the event loop. Thousands of streams that end (or open) in the same
 * moment each bring a settle, writes, a log line and a closed socket; run as their events
 * arrive, one turn of the loop does all of them, and a health check that arrived meanwhile
 * waits for the whole batch. Queued here, each turn runs a slice of about SLICE_MS of it, and
 * the loop looks at its sockets between slices.
 */
const SLICE_MS = 4

const queue: Array<(() => void) | undefined> = []
let next = 0
let scheduled = false
/** Jobs per slice: what SLICE_MS holds at the cost the last slices measured. */
let perSlice = 16
/** A job's cost in ms, its promise reactions included, averaged over the last slices. */
let jobMs = 0.25
let sliceStarted = 0
let ran = 0

const runSlice = () => {
  sliceStarted = performance.now()
  const end = Math.min(queue.length, next + perSlice)
  ran = 0
  while (next < end) {
    const job = queue[next]!
    queue[next++] = undefined
    ran++
    job()
    if (performance.now() - sliceStarted >= SLICE_MS) break
  }
}

/**
 * Runs after the slice's promise reactions (the immediates of one turn run in order, each
 * after the reactions of the one before): what the slice cost in all, to size the next.
 */
const afterSlice = () => {
  const cost = performance.now() - sliceStarted
  if (ran > 0) {
    jobMs = 0.7 * jobMs + 0.3 * (cost / ran)
    perSlice = Math.max(1, Math.min(1024, Math.floor(SLICE_MS / jobMs)))
  }
  if (next < queue.length) {
    schedule()
    return
  }
  queue.length = 0
  next = 0
  scheduled = false
}

/** How a slice is put on a later turn: an immediate, or a timer (see slicesThroughTimers). */
let nextTurn: (slice: () => void) => void = setImmediate

const schedule = () => {
  nextTurn(runSlice)
  nextTurn(afterSlice)
}

/**
 * For Deno, whose event loop looks at its sockets only every sixty-odd immediates while they
 * keep coming: there slices go through timers, and the loop looks at its sockets before each.
 * At 9,900 streams ending together a health check then waited 0.23 to 0.47 s at worst, against
 * 1.5 to 2.0 s. Only a busy relay's work runs in slices: a quiet one's requests never meet a
 * timer (see roomNow); at saturation the timers' wait measured within the runs' noise.
 */
export const slicesThroughTimers = (): void => {
  nextTurn = (slice) => setTimeout(slice, 0)
}

/**
 * When the loop's current turn ran its first job here, or -1. A quiet relay (one request or
 * one chunk a turn) runs its jobs at once: deferring each to a later turn would add a hop to
 * every request and chunk. Only once a turn has spent a slice's time or jobs does work queue.
 */
let turnStarted = -1
let ranThisTurn = 0
const endTurn = () => {
  turnStarted = -1
  ranThisTurn = 0
}

/** Whether this turn has room for one more job now; counts it if so. */
const roomNow = (): boolean => {
  if (scheduled) return false
  const now = performance.now()
  if (turnStarted < 0) {
    turnStarted = now
    setImmediate(endTurn)
  }
  // The job count bounds what the clock cannot see yet: reactions of jobs run in one go.
  if (now - turnStarted >= SLICE_MS || ranThisTurn >= perSlice) return false
  ranThisTurn++
  return true
}

const later = (job: () => void) => {
  queue.push(job)
  if (scheduled) return
  scheduled = true
  schedule()
}

/** Runs `job` now if this turn has room for it, else in a later slice; in the order given. */
export const inTurn = (job: () => void): void => {
  if (roomNow()) job()
  else later(job)
}

/**
 * Undefined when this turn has room to go on now, else a promise of a later slice: a quiet
 * relay's request goes on without a promise's hop.
 */
export const turn = (): Promise<void> | undefined => (roomNow() ? undefined : new Promise(later))

/**
 * Whether `url` asks for the health check, which skips the queue: it is answered in the turn
 * it arrives, however much work waits, so that it measures the loop and not the backlog.
 */
export const isHealthCheck = (url: string): boolean => {
  // The path begins at the first slash after the scheme's `//`; asked of every request.
  const path = url.indexOf("/", url.indexOf("//") + 2)
  if (path < 0 || !url.startsWith("/healthz", path)) return false
  const after = path + "/healthz".length
  return after === url.length || url[after] === "?"
}
