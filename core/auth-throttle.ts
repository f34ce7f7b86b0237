/**
 * Failed authentications per client address, on every door that takes a secret (relay keys,
 * the admin key, the metrics token, the console's sign-in): an address that fails more than
 * `maxFailures` times within a minute is refused (429) until the minute is over, before any
 * secret it sends is looked at. Other addresses, and so every other caller's valid key, are not
 * slowed at all.
 */
export class AuthThrottle {
  private readonly windows = new Map<string, { start: number; failures: number }>()

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now
  ) {}

  /** Whole seconds until `address` may try again, if it is refused now. */
  retryAfterSeconds(address: string): number | undefined {
    const window = this.windows.get(address)
    if (window === undefined || window.failures <= this.maxFailures) return undefined
    const left = window.start + this.windowMs - this.now()
    if (left > 0) return Math.ceil(left / 1000)
    this.windows.delete(address)
    return undefined
  }

  failed(address: string): void {
    const now = this.now()
    let window = this.windows.get(address)
    if (window === undefined || window.start + this.windowMs <= now) {
      // Many addresses failing once each (a scan) must not grow this without end.
      if (this.windows.size >= MAX_ADDRESSES) this.forgetEnded(now)
      window = { start: now, failures: 0 }
      this.windows.set(address, window)
    }
    window.failures++
  }

  private forgetEnded(now: number) {
    for (const [address, window] of this.windows) if (window.start + this.windowMs <= now) this.windows.delete(address)
    // Still full: the oldest windows go, as a fixed bound on memory.
    for (const address of this.windows.keys()) {
      if (this.windows.size < MAX_ADDRESSES) break
      this.windows.delete(address)
    }
  }
}

/** Addresses tracked at most (about 100 bytes each). */
const MAX_ADDRESSES = 100_000
