import { RequestLog, TokenWindow, WINDOW_MS } from "./window.ts"

export interface Limits {
  readonly rpm: number
  readonly tpm: number
}

/** What a client is told about its windows (SPEC section 4). */
export interface WindowState {
  readonly requestsRemaining: number
  /** Whole seconds until the window frees a request. */
  readonly resetSeconds: number
  readonly tokensRemaining: number
}

/** A reservation of tokens, handed back to `reconcile` with the real count. */
export interface TokenTicket {
  readonly second: number
  readonly tokens: number
}

export type Admission =
  | { readonly admitted: true; readonly state: WindowState; readonly ticket: TokenTicket }
  | {
    readonly admitted: false
    readonly state: WindowState
    /** `tpm_exceeded_by_request`: the request alone needs more than the tier's TPM. */
    readonly reason: "rpm" | "tpm" | "tpm_exceeded_by_request"
    readonly retryAfterSeconds: number
  }

/**
 * Rate windows per account. The plugin sees only this interface, so a shared implementation
 * (Redis, for several relay nodes) can replace the in-memory one without touching it.
 */
export interface RateWindows {
  /** Admits one request that may use `tokens`, counting it in both windows, or refuses it. */
  admit(account: string, limits: Limits, tokens: number, now: number): Admission
  /** The windows' state, counting nothing: for an answer to a request that was not admitted. */
  peek(account: string, limits: Limits, now: number): WindowState
  /** Replaces a reservation with the tokens really used. */
  reconcile(account: string, ticket: TokenTicket, actualTokens: number, now: number): void
}

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
export class MemoryRateWindows implements RateWindows {
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
    return { admitted: true, state: state(), ticket: { second, tokens } }
  }

  peek(account: string, limits: Limits, now: number): WindowState {
    const entry = this.accounts.get(account)
    return entry === undefined ? { requestsRemaining: limits.rpm, resetSeconds: 0, tokensRemaining: limits.tpm } : stateOf(entry, limits, now)
  }

  reconcile(account: string, ticket: TokenTicket, actualTokens: number, now: number): void {
    this.accounts.get(account)?.tokens.adjust(ticket.second, actualTokens - ticket.tokens, now)
  }

  /** Accounts idle for a whole window hold nothing worth keeping. */
  private forgetIdle(now: number): void {
    for (const [account, entry] of this.accounts) if (now - entry.lastUsed > WINDOW_MS) this.accounts.delete(account)
  }
}
