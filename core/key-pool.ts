/** Why a key is resting: decides whether the relay may still try it when nothing else is left. */
export type CooldownReason = "rate_limited" | "failing" | "rejected"

interface Slot {
  readonly secret: string
  until: number
  reason: CooldownReason | undefined
  /** Refusals in a row that did not name the key (see `refusedRequest`). */
  refusals: number
}

export interface PoolKey {
  readonly secret: string
  /** The key's position in the pool: how logs and metrics name it, never by its value. */
  readonly slot: number
}

/**
 * A provider's shared upstream keys. Requests are spread round-robin; a key that fails is
 * cooled down for a while so traffic moves to the others.
 */
export class KeyPool {
  private readonly slots: Array<Slot>
  private cursor = 0

  /** `onRest` hears of every key this pool puts to rest (to tell the other nodes). */
  constructor(
    secrets: ReadonlyArray<string>,
    private readonly now: () => number = Date.now,
    private readonly onRest: (slot: number, reason: CooldownReason, until: number) => void = () => undefined
  ) {
    this.slots = secrets.map((secret) => ({ secret, until: 0, reason: undefined, refusals: 0 }))
  }

  get size(): number {
    return this.slots.length
  }

  /** Every secret in the pool, for redaction. */
  get secrets(): ReadonlyArray<string> {
    return this.slots.map((slot) => slot.secret)
  }

  /**
   * The keys to try for one request, in order: resting keys are left out, except that keys
   * resting after a failure (not a rate limit or a rejection) are tried last, since an outage
   * of every key is better probed than refused outright.
   */
  candidates(): Array<PoolKey> {
    const now = this.now()
    const n = this.slots.length
    const start = this.cursor
    this.cursor = (this.cursor + 1) % Math.max(1, n)
    const ready: Array<PoolKey> = []
    const resting: Array<PoolKey & { until: number }> = []
    for (let k = 0; k < n; k++) {
      const slot = (start + k) % n
      const entry = this.slots[slot]!
      if (entry.until <= now) ready.push({ secret: entry.secret, slot })
      else if (entry.reason === "failing") resting.push({ secret: entry.secret, slot, until: entry.until })
    }
    resting.sort((a, b) => a.until - b.until)
    return [...ready, ...resting]
  }

  /**
   * Whole seconds (at least 1) until the first resting key, whatever its reason, is usable
   * again; undefined if no key rests. What a caller turned away is told to wait.
   */
  retryAfterSeconds(): number | undefined {
    const now = this.now()
    let soonest: number | undefined
    for (const slot of this.slots) {
      if (slot.until > now) soonest = Math.min(soonest ?? Infinity, slot.until - now)
    }
    return soonest === undefined ? undefined : Math.ceil(soonest / 1000)
  }

  /** Whether some key rests now for `reason`. */
  rests(reason: CooldownReason): boolean {
    const now = this.now()
    return this.slots.some((slot) => slot.reason === reason && slot.until > now)
  }

  /** The key served a request: refusals before it were about their requests. */
  served(slot: number): void {
    const entry = this.slots[slot]
    if (entry !== undefined) entry.refusals = 0
  }

  /**
   * The upstream refused a request with this key (401/403) without naming the key: most likely
   * the request's fault (a model the project may not use), so one such refusal rests nothing,
   * or a single caller could take the pool down. `limit` of them in a row, with no request
   * served between, rest the key as a rejected one; true then.
   */
  refusedRequest(slot: number, limit: number, ms: number): boolean {
    const entry = this.slots[slot]
    if (entry === undefined || ++entry.refusals < limit) return false
    entry.refusals = 0
    this.cool(slot, "rejected", ms)
    return true
  }

  cool(slot: number, reason: CooldownReason, ms: number): void {
    const entry = this.slots[slot]
    if (entry === undefined) return
    entry.until = this.now() + ms
    entry.reason = reason
    this.onRest(slot, reason, entry.until)
  }

  /** Another node put this key to rest until `until` (epoch ms); a longer rest here stands. */
  restedElsewhere(slot: number, reason: CooldownReason, until: number): void {
    const entry = this.slots[slot]
    if (entry === undefined || entry.until >= until) return
    entry.until = until
    entry.reason = reason
  }
}
