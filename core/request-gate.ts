import { InFlight } from "./in-flight.ts"

/**
 * The door every request comes through. Once the relay stops it lets no new request in (on a
 * new connection or a kept-alive one), and tells when the requests already in have been
 * answered, so the store is closed under none of them.
 */
export class RequestGate {
  private open = true
  private readonly inside = new InFlight()

  /** Lets a request in; false once the relay is stopping. */
  enter(): boolean {
    if (!this.open) return false
    this.inside.enter()
    return true
  }

  /** The request has its answer (a stream's end is the pipeline's to await). */
  leave(): void {
    this.inside.leave()
  }

  close(): void {
    this.open = false
  }

  /** Resolves once no request is inside, or after `timeoutMs`; true if none is. */
  idle(timeoutMs: number): Promise<boolean> {
    return this.inside.idle(timeoutMs)
  }
}
