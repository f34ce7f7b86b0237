import { Context, type Effect } from "effect"
import type { Account } from "../context.ts"
import type { LimitOverrides } from "./account-limits.ts"

/** A rate-limit tier: the requests and tokens per minute of an account on it. */
export interface RateTier {
  readonly rpm: number
  readonly tpm: number
}

/** An account's effective limits: requests and tokens per minute. */
export interface Limits {
  readonly rpm: number
  readonly tpm: number
}

/**
 * An account's limits, the one place they are worked out (the limiter enforces them, the
 * account's JSON shows them): its own overrides, else its tier's; an account on a tier the
 * config no longer has is held to the default tier's.
 */
export const effectiveLimits = (
  config: { readonly tiers: Readonly<Record<string, RateTier>>; readonly defaultTier: string },
  account: Account,
  overrides: LimitOverrides
): Limits => {
  const tier = config.tiers[account.tier] ?? config.tiers[config.defaultTier]!
  return { rpm: overrides.rpm ?? tier.rpm, tpm: overrides.tpm ?? tier.tpm }
}

/** What a client is told about its windows (SPEC section 4). */
export interface WindowState {
  readonly requestsRemaining: number
  /** Whole seconds until the window frees a request. */
  readonly resetSeconds: number
  readonly tokensRemaining: number
}

/** An admission: its reservation of tokens, handed back to `settle` with the real count, or to `release`. */
export interface TokenTicket {
  readonly second: number
  readonly tokens: number
  /** The request's entry in its window, as the store names it: what `release` takes out. */
  readonly request: string
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
 * Requests and tokens per minute per account, over sliding one-minute windows. `now` is the
 * caller's clock in epoch ms, so every node of a relay measures the same minute.
 */
export interface RateWindowsShape {
  /** Admits one request that may use `tokens`, counting it in both windows, or refuses it: one atomic step. */
  readonly admit: (account: string, limits: Limits, tokens: number, now: number) => Effect.Effect<Admission>
  /** The windows' state, counting nothing: for an answer to a request that was not admitted. */
  readonly peek: (account: string, limits: Limits, now: number) => Effect.Effect<WindowState>
  /** Replaces a reservation with the tokens really used. */
  readonly settle: (account: string, ticket: TokenTicket, actualTokens: number, now: number) => Effect.Effect<void>
  /**
   * Undoes an admission whose request was not served (a window checked after it refused): the
   * request leaves the requests window and its tokens go back, as if it had not been admitted.
   */
  readonly release: (account: string, ticket: TokenTicket, now: number) => Effect.Effect<void>
}

export class RateWindows extends Context.Service<RateWindows, RateWindowsShape>()("relay/RateWindows") {}
