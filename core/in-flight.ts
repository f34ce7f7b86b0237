/** A count of things under way (requests, settles), and who waits for it to reach zero. */
export class InFlight {
  private inside = 0
  private waiters: Array<() => void> = []

  get count(): number {
    return this.inside
  }

  enter(): void {
    this.inside++
  }

  leave(): void {
    this.inside--
    if (this.inside > 0) return
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }

  /** Resolves once nothing is under way, or after `timeoutMs`; true if nothing is. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.inside === 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      this.waiters.push(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  }
}
