import { Effect } from "effect"
import {
  type Account,
  type AccountLimitsShape,
  effectiveLimits,
  type LimitOverrides,
  type RateTier,
  type RateTiersShape
} from "../../core/index.ts"

interface Entry {
  readonly overrides: LimitOverrides
  readonly readAt: number
}

interface OverridesOptions {
  readonly tiers: Readonly<Record<string, RateTier>>
  readonly defaultTier: string
  readonly store: AccountLimitsShape
  /**
   * How long a read is trusted: the longest a change made by another process (another node,
   * the command line) takes to apply here. Changes made through this relay apply at once.
   */
  readonly revalidateMs: number
  readonly maxEntries: number
  readonly now: () => number
  /** Tells the other nodes that this account's overrides changed, so they read them again. */
  readonly announce: (accountId: string) => void
}

export interface TiersWithOverrides {
  readonly tiers: RateTiersShape
  /** Drops what is cached of an account (another node changed it), or of every account. */
  readonly forget: (accountId: string | undefined) => void
}

/**
 * The limiter's tiers with each account's overrides, read through a small cache so that
 * admission is a map lookup: the store is asked at most once per account per `revalidateMs`.
 * A change through `setOverrides` replaces the cached entry, so it applies to the next request
 * here, and is announced, so the other nodes drop theirs; `revalidateMs` bounds how long a
 * node that missed the announcement keeps the old value.
 */
export const tiersWithOverrides = (options: OverridesOptions): TiersWithOverrides => {
  const { tiers, defaultTier, store, revalidateMs, maxEntries, now, announce } = options
  const table = { tiers, defaultTier }
  const entries = new Map<string, Entry>()
  const remember = (accountId: string, overrides: LimitOverrides) => {
    entries.delete(accountId)
    if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!)
    entries.set(accountId, { overrides, readAt: now() })
    return overrides
  }
  const overridesFor = (accountId: string): Effect.Effect<LimitOverrides> => {
    const entry = entries.get(accountId)
    if (entry !== undefined && now() - entry.readAt < revalidateMs) return Effect.succeed(entry.overrides)
    return Effect.map(store.get(accountId), (overrides) => remember(accountId, overrides))
  }
  return {
    tiers: {
      tiers,
      defaultTier,
      overridesFor,
      limitsFor: (account: Account) => Effect.map(overridesFor(account.id), (overrides) => effectiveLimits(table, account, overrides)),
      setOverrides: (accountId, changes) =>
        Effect.map(store.set(accountId, changes), (overrides) => {
          remember(accountId, overrides)
          announce(accountId)
        })
    },
    forget: (accountId) => (accountId === undefined ? entries.clear() : entries.delete(accountId))
  }
}
