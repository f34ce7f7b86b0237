import { Effect, Layer } from "effect"
import { type Admission, type Limits, RateWindows, type TokenTicket, type WindowState } from "../../core/index.ts"
import { RequestLog, TokenWindow, WINDOW_MS } from "./window.ts"

export type { Admission, Limits, TokenTicket, WindowState } from "../../core/index.ts"

interface AccountWindows {
  readonly requests: RequestLog
  readonly tokens: TokenWindow
  lastUsed: number
}

const seconds = (ms: number) => Math.ceil(ms / 1000)

const stateOf = ({ requests, tokens }: AccountWindows, limits: Limits, now: number): WindowState => ({
  requestsRemaining: Math.max(0, limits.rpm - requests.size(now)),
  resetSeconds: seconds(requests.msUntilFree(now)),
  tokensRemaining: Math.max(0, limits.tpm - tokens.used(now))
})

/** Windows of one relay node, in memory. */
export class MemoryRateWindows {
  private readonly accounts = new Map<string, AccountWindows>()
  private admissions = 0

  private windows(account: string, now: number): AccountWindows {
    let entry = this.accounts.get(account)
    if (entry === undefined) {
      entry = { requests: new RequestLog(), tokens: new TokenWindow(), lastUsed: now }
      this.accounts.set(account, entry)
    }
    entry.lastUsed = now
    return entry
  }

  admit(account: string, limits: Limits, tokens: number, now: number): Admission {
    if (++this.admissions % 4096 === 0) this.forgetIdle(now)
    const entry = this.windows(account, now)
    const { requests, tokens: window } = entry
    const state = () => stateOf(entry, limits, now)
    if (requests.size(now) >= limits.rpm) {
      return { admitted: false, state: { ...state(), requestsRemaining: 0 }, reason: "rpm", retryAfterSeconds: Math.max(1, seconds(requests.msUntilFree(now))) }
    }
    if (tokens > limits.tpm) {
      return { admitted: false, state: { ...state(), requestsRemaining: 0 }, reason: "tpm_exceeded_by_request", retryAfterSeconds: seconds(WINDOW_MS) }
    }
    const wait = window.msUntilRoom(now, tokens, limits.tpm)
    if (wait > 0) {
      return { admitted: false, state: { ...state(), requestsRemaining: 0 }, reason: "tpm", retryAfterSeconds: Math.max(1, seconds(wait)) }
    }
    requests.tryAdd(now, limits.rpm)
    const second = window.add(now, tokens)
    // The request's entry is its admission time: `release` takes out the newest one of that time.
    return { admitted: true, state: state(), ticket: { second, tokens, request: String(now) } }
  }

  peek(account: string, limits: Limits, now: number): WindowState {
    const entry = this.accounts.get(account)
    return entry === undefined ? { requestsRemaining: limits.rpm, resetSeconds: 0, tokensRemaining: limits.tpm } : stateOf(entry, limits, now)
  }

  reconcile(account: string, ticket: TokenTicket, actualTokens: number, now: number): void {
    this.accounts.get(account)?.tokens.adjust(ticket.second, actualTokens - ticket.tokens, now)
  }

  release(account: string, ticket: TokenTicket, now: number): void {
    const entry = this.accounts.get(account)
    if (entry === undefined) return
    entry.requests.remove(Number(ticket.request), now)
    entry.tokens.adjust(ticket.second, -ticket.tokens, now)
  }

  /** Accounts idle for a whole window hold nothing worth keeping. */
  private forgetIdle(now: number): void {
    for (const [account, entry] of this.accounts) if (now - entry.lastUsed > WINDOW_MS) this.accounts.delete(account)
  }
}

/** The RateWindows port over windows in this process's memory: right for a single relay node. */
export const memoryRateWindows: Layer.Layer<RateWindows> = Layer.sync(RateWindows, () => {
  const windows = new MemoryRateWindows()
  return RateWindows.of({
    admit: (account, limits, tokens, now) => Effect.sync(() => windows.admit(account, limits, tokens, now)),
    peek: (account, limits, now) => Effect.sync(() => windows.peek(account, limits, now)),
    settle: (account, ticket, actualTokens, now) => Effect.sync(() => windows.reconcile(account, ticket, actualTokens, now)),
    release: (account, ticket, now) => Effect.sync(() => windows.release(account, ticket, now))
  })
})
