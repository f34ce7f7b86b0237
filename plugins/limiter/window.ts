/** The rolling window every limit is measured over. */
export const WINDOW_MS = 60_000

/**
 * Requests per minute as an exact sliding log: the time of each admitted request in a ring
 * buffer as long as the limit. A request is admitted when fewer than `limit` requests happened
 * in the last 60 s, so no 60-second span ever holds more than the limit; a fixed minute would
 * let twice the limit through across its boundary, and a token bucket refills mid-window.
 * Admission and expiry are O(1) (amortised); memory is one float per request in the window,
 * growing by doubling up to the limit, so a tier with a huge limit costs only what it uses.
 */
export class RequestLog {
  private times = new Float64Array(0)
  private head = 0
  private count = 0

  private prune(now: number): void {
    const cutoff = now - WINDOW_MS
    while (this.count > 0 && this.times[this.head]! <= cutoff) {
      this.head = (this.head + 1) % this.times.length
      this.count--
    }
  }

  /** Requests in the window ending at `now`. */
  size(now: number): number {
    this.prune(now)
    return this.count
  }

  /** Milliseconds until the oldest request leaves the window (0 when the window is empty). */
  msUntilFree(now: number): number {
    this.prune(now)
    return this.count === 0 ? 0 : this.times[this.head]! + WINDOW_MS - now
  }

  /** Records a request if fewer than `limit` are in the window. */
  tryAdd(now: number, limit: number): boolean {
    this.prune(now)
    if (this.count >= limit) return false
    if (this.count === this.times.length) this.grow(Math.min(limit, Math.max(16, this.times.length * 2)))
    this.times[(this.head + this.count) % this.times.length] = now
    this.count++
    return true
  }

  /** Takes out the newest request made at `at` (one admitted and then not served); false when none is in the window. */
  remove(at: number, now: number): boolean {
    this.prune(now)
    for (let i = this.count - 1; i >= 0; i--) {
      if (this.times[(this.head + i) % this.times.length] !== at) continue
      // The later entries move one place back, keeping their order.
      for (let j = i; j < this.count - 1; j++) {
        this.times[(this.head + j) % this.times.length] = this.times[(this.head + j + 1) % this.times.length]!
      }
      this.count--
      return true
    }
    return false
  }

  /** A longer ring, for more requests in the window; the entries keep their order. */
  private grow(capacity: number): void {
    const next = new Float64Array(capacity)
    for (let i = 0; i < this.count; i++) next[i] = this.times[(this.head + i) % this.times.length]!
    this.times = next
    this.head = 0
  }
}

const BUCKET_MS = 1_000
const BUCKETS = WINDOW_MS / BUCKET_MS

/**
 * Tokens per minute over 60 one-second buckets with a running total. Tokens are reserved in
 * the bucket of the second they were admitted, and that same bucket is corrected when the real
 * usage is known, so a correction never moves tokens in time. Advancing time clears at most 60
 * buckets, so every operation is O(1).
 */
export class TokenWindow {
  private readonly buckets = new Float64Array(BUCKETS)
  private readonly stamps = new Float64Array(BUCKETS).fill(-Infinity)
  private total = 0

  private advance(second: number): void {
    for (let i = 0; i < BUCKETS; i++) {
      if (this.stamps[i]! <= second - BUCKETS) {
        this.total -= this.buckets[i]!
        this.buckets[i] = 0
        this.stamps[i] = -Infinity
      }
    }
  }

  /** Tokens counted in the window ending at `now`. */
  used(now: number): number {
    this.advance(Math.floor(now / BUCKET_MS))
    return Math.max(0, this.total)
  }

  /** Counts `tokens` at `now`; returns the second they were counted in, for `adjust`. */
  add(now: number, tokens: number): number {
    const second = Math.floor(now / BUCKET_MS)
    this.advance(second)
    const slot = second % BUCKETS
    if (this.stamps[slot] !== second) {
      // A slot still holding another second (the clock stepped back) gives its tokens up.
      this.total -= this.buckets[slot]!
      this.buckets[slot] = 0
      this.stamps[slot] = second
    }
    this.buckets[slot]! += tokens
    this.total += tokens
    return second
  }

  /** Corrects the tokens counted in `second` by `delta`, unless they have left the window. */
  adjust(second: number, delta: number, now: number): void {
    this.advance(Math.floor(now / BUCKET_MS))
    const slot = second % BUCKETS
    if (this.stamps[slot] !== second) return
    const corrected = Math.max(0, this.buckets[slot]! + delta)
    this.total += corrected - this.buckets[slot]!
    this.buckets[slot] = corrected
  }

  /** Milliseconds until at least `needed` tokens fit under `limit` (0 if they fit now). */
  msUntilRoom(now: number, needed: number, limit: number): number {
    let excess = this.used(now) + needed - limit
    if (excess <= 0) return 0
    const second = Math.floor(now / BUCKET_MS)
    for (let age = BUCKETS - 1; age >= 0; age--) {
      const stamp = second - age
      const slot = ((stamp % BUCKETS) + BUCKETS) % BUCKETS
      if (this.stamps[slot] !== stamp) continue
      excess -= this.buckets[slot]!
      if (excess <= 0) return (stamp + BUCKETS) * BUCKET_MS - now
    }
    return WINDOW_MS
  }
}
