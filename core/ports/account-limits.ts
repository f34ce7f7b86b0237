import { Context, type Effect } from "effect"

/** An account's own limits in place of its tier's; `null` keeps the tier's. */
export interface LimitOverrides {
  readonly rpm: number | null
  readonly tpm: number | null
}

/** What an account without overrides has. */
export const NO_OVERRIDES: LimitOverrides = { rpm: null, tpm: null }

/** Changes to an account's overrides: a field left undefined stays, `null` clears it. */
export interface OverrideChanges {
  readonly rpm?: number | null | undefined
  readonly tpm?: number | null | undefined
}

/**
 * Per-account overrides of the rate-limit tiers, stored (the limiter's). Read on admission
 * through the limiter's cache, written by the admin API and the console.
 */
export interface AccountLimitsShape {
  /** The account's overrides; NO_OVERRIDES when it has none. */
  readonly get: (accountId: string) => Effect.Effect<LimitOverrides>
  /** Applies the changes as one step and answers the overrides that result. */
  readonly set: (accountId: string, changes: OverrideChanges) => Effect.Effect<LimitOverrides>
}

export class AccountLimits extends Context.Service<AccountLimits, AccountLimitsShape>()("relay/AccountLimits") {}
