import { Context, Effect, Option } from "effect"
import type { Account, Caller, SpendPeriod } from "./context.ts"
import { InvalidRequest, type RelayError, RouteNotFound } from "./errors.ts"
import { formatUsd } from "./money.ts"
import { type LimitOverrides, NO_OVERRIDES, type OverrideChanges } from "./ports/account-limits.ts"
import { effectiveLimits, type Limits, type RateTier } from "./ports/rate-windows.ts"
import type { KeyUpdate } from "./ports/accounts.ts"
import type { AuditEntry, AuditQuery, StoredAuditEntry } from "./ports/audit-log.ts"
import type { DailySpend, SpendByDay, UsageRecordView } from "./ports/usage-records.ts"

/*
 * What the plugins offer for managing the relay: one Effect service per capability, each
 * provided by the plugin that owns the concern (accounts and keys by keys, balances and usage
 * by billing, credentials by vault, tiers by limiter). The admin API, the console and the
 * command line reach state through these services alone, so each rule (name lengths, known
 * tiers, cache invalidation, credit checks) lives in one place, behind every door alike.
 */

/** A relay key as lists show it (the admin API's shape): never the key itself. */
export interface KeyInfo {
  readonly id: string
  readonly account_id: string
  readonly name: string | null
  /** The key's first characters, to tell keys apart. */
  readonly prefix: string
  readonly created_at: string
  readonly revoked_at: string | null
  /** Its restrictions (SPEC section 15): null where it has none. */
  readonly spend_limit: string | null
  readonly spend_period: SpendPeriod | null
  readonly models: ReadonlyArray<string> | null
  readonly expires_at: string | null
  readonly rpm: number | null
  readonly tpm: number | null
  readonly metadata: Readonly<Record<string, unknown>> | null
}

/** Changes to an account: its tier, and per-account limits (`null` clears an override). */
export interface AccountChanges {
  readonly tier?: string | undefined
  readonly rpm?: number | null | undefined
  readonly tpm?: number | null | undefined
}

/** Accounts and relay keys, with the rules that guard them (the keys plugin). */
export interface AccountDirectoryShape {
  readonly list: () => Effect.Effect<ReadonlyArray<Account>>
  readonly find: (id: string) => Effect.Effect<Account | undefined>
  /**
   * Opens an account on `tier` (the default tier when undefined), named `name` trimmed; a name
   * left empty or over 200 characters, or an unknown tier, is refused.
   */
  readonly create: (name: string, tier: string | undefined) => Effect.Effect<Account, InvalidRequest>
  /** Applies `changes`; changes that name no field are refused. */
  readonly update: (id: string, changes: AccountChanges) => Effect.Effect<Account, InvalidRequest | RouteNotFound>
  /** The account's keys, revoked ones included. */
  readonly keys: (accountId: string) => Effect.Effect<ReadonlyArray<KeyInfo>, RouteNotFound>
  /**
   * Issues a key, with the restrictions given (its rpm and tpm within the account's); its
   * plaintext is in this answer only. With `parent` (the key a user calls with), the new key
   * takes the parent's restrictions where the request names none, and may be no wider.
   */
  readonly issueKey: (
    accountId: string,
    name: string | null,
    restrictions?: KeyUpdate,
    parent?: Caller
  ) => Effect.Effect<{ readonly key: string; readonly info: KeyInfo }, RouteNotFound | InvalidRequest>
  /**
   * A key's name and restrictions from the API's fields (`spend_limit`, `models`...), checked by
   * the rules every door shares; a field left out is left as it is, `null` clears it.
   */
  readonly keyChanges: (fields: unknown) => KeyUpdate | InvalidRequest
  /**
   * Changes a key's name or restrictions (with `accountId`, only a key of that account);
   * effective on the next request. With `parent` (the key a user signed in with), the key must
   * be no wider than the parent before and after the change, so a user neither widens a key past
   * their own nor narrows one they could not have made.
   */
  readonly updateKey: (keyId: string, changes: KeyUpdate, accountId?: string, parent?: Caller) => Effect.Effect<KeyInfo, RouteNotFound | InvalidRequest>
  /** Suspends (every key refused with 403 until resumed) or resumes an account. */
  readonly suspend: (accountId: string, suspended: boolean) => Effect.Effect<Account, RouteNotFound>
  /** Deletes an account: its keys revoked, its usage and ledger kept; false when there was none. */
  readonly remove: (accountId: string) => Effect.Effect<boolean>
  /**
   * Revokes an active key, effective on the next request; with `accountId`, only a key of that
   * account. The account the key belonged to (for the audit log), undefined when there was no
   * such active key.
   */
  readonly revokeKey: (keyId: string, accountId?: string) => Effect.Effect<string | undefined>
  /** Who holds this relay key, if it is active (a sign-in with the key itself). */
  readonly callerForKey: (key: string) => Effect.Effect<Caller | undefined>
  /** Who holds the key with this id, while it stays active (a session re-checked without the key). */
  readonly callerForKeyId: (keyId: string) => Effect.Effect<Caller | undefined>
}

export class AccountDirectory extends Context.Service<AccountDirectory, AccountDirectoryShape>()("relay/AccountDirectory") {}

/** Account balances as the doors see them (the billing plugin). */
export interface BalancesShape {
  /** The balance once every settled request's charge is written, in nano-USD. */
  readonly balance: (accountId: string) => Effect.Effect<bigint>
  /**
   * Adds credit. Every door books credit through it, so it alone checks the input: a refusal
   * names the field (`amount` beyond MONEY_LIMIT_NANO, or `note` too long), with nothing written.
   */
  readonly credit: (accountId: string, amount: bigint, note: string | null) => Effect.Effect<void, InvalidRequest>
  /** A new account's opening credit, booked as such (`credits` of the admin API's account creation). */
  readonly openingCredit: (accountId: string, amount: bigint) => Effect.Effect<void, InvalidRequest>
  /**
   * What a relay key was charged in its spend period holding now (UTC; null: its lifetime), in
   * nano-USD, every settled request included.
   */
  readonly keySpent: (keyId: string, period: SpendPeriod | null) => Effect.Effect<bigint>
}

export class Balances extends Context.Service<Balances, BalancesShape>()("relay/Balances") {}

/** An account's usage history (the billing plugin). */
export interface UsageHistoryShape {
  /** The newest `limit` records, newest first. */
  readonly list: (accountId: string, limit: number) => Effect.Effect<ReadonlyArray<UsageRecordView>>
  /**
   * Spend per UTC day (`YYYY-MM-DD`, nano-USD) over the last `days` days including today,
   * oldest first; days without usage are left out.
   */
  readonly dailySpend: (accountId: string, days: number) => Effect.Effect<ReadonlyArray<DailySpend>>
  /** Every account's spend per UTC day and account or model (the operator's view), oldest first. */
  readonly spendBy: (by: "account" | "model", days: number) => Effect.Effect<ReadonlyArray<SpendByDay>>
}

export class UsageHistory extends Context.Service<UsageHistory, UsageHistoryShape>()("relay/UsageHistory") {}

/** A stored BYOK credential as it is shown: its provider and a hint, never the key. */
export interface CredentialInfo {
  readonly provider: string
  readonly key_hint: string
  readonly created_at: string
}

/** The accounts' own provider keys (the vault plugin). */
export interface CredentialVaultShape {
  /** Providers a credential may be stored for. */
  readonly providers: () => ReadonlyArray<string>
  readonly list: (accountId: string) => Effect.Effect<ReadonlyArray<CredentialInfo>>
  /** Seals and stores `apiKey`, replacing an earlier one; a bad provider or key is refused. */
  readonly put: (accountId: string, provider: string, apiKey: unknown) => Effect.Effect<CredentialInfo, InvalidRequest>
  /** False when there was nothing to delete. */
  readonly remove: (accountId: string, provider: string) => Effect.Effect<boolean>
  /**
   * The account's own key for a provider, opened to be sent to that provider and nowhere else
   * (a stored response made with it is read with it); undefined when none is stored.
   */
  readonly secretFor: (accountId: string, provider: string, requestId: string) => Effect.Effect<string | undefined, RelayError>
  /**
   * Re-seals every credential under the current master key, after making a new one when the
   * relay keeps its own key file (`generated`).
   */
  readonly rotate: () => Effect.Effect<{ readonly key_id: string; readonly generated: boolean; readonly resealed: number }, RelayError>
}

export class CredentialVault extends Context.Service<CredentialVault, CredentialVaultShape>()("relay/CredentialVault") {}

/**
 * The rate-limit tiers accounts are put on, each account's own overrides of them, and what an
 * account's limits are (the limiter).
 */
export interface RateTiersShape {
  readonly tiers: Readonly<Record<string, RateTier>>
  /** The tier of an account opened without one. */
  readonly defaultTier: string
  /** An account's limits: its own overrides, else its tier's. */
  readonly limitsFor: (account: Account) => Effect.Effect<Limits>
  /** An account's own overrides. */
  readonly overridesFor: (accountId: string) => Effect.Effect<LimitOverrides>
  /** Sets or clears (`null`) an account's overrides; refused where nothing would enforce them. */
  readonly setOverrides: (accountId: string, changes: OverrideChanges) => Effect.Effect<void, InvalidRequest>
}

export class RateTiers extends Context.Service<RateTiers, RateTiersShape>()("relay/RateTiers") {}

/**
 * The relay's own tiers when it has no limiter: accounts are put on them and shown their
 * limits, but no account has overrides, and setting one is refused, since nothing would
 * enforce it. Clearing one is accepted: there is none.
 */
export const rateTiers = (tiers: Readonly<Record<string, RateTier>>, defaultTier: string): RateTiersShape => {
  const table = { tiers, defaultTier }
  return {
    tiers,
    defaultTier,
    limitsFor: (account) => Effect.succeed(effectiveLimits(table, account, NO_OVERRIDES)),
    overridesFor: () => Effect.succeed(NO_OVERRIDES),
    setOverrides: (_accountId, changes) => {
      const field = (["rpm", "tpm"] as const).find((name) => changes[name] !== undefined && changes[name] !== null)
      return field === undefined
        ? Effect.void
        : Effect.fail(new InvalidRequest({ message: `${field}: this relay has no rate limiter, so a per-account limit would not be enforced; add limiter() to the config's plugins`, param: field }))
    }
  }
}

/** The audit log of state changes (the audit-log plugin). */
export interface AuditTrailShape {
  /** Records a change; a store that refuses it is logged, never the change's own failure. */
  readonly record: (entry: AuditEntry) => Effect.Effect<void>
  readonly list: (query: AuditQuery) => Effect.Effect<ReadonlyArray<StoredAuditEntry>>
}

export class AuditTrail extends Context.Service<AuditTrail, AuditTrailShape>()("relay/AuditTrail") {}

/** The management services a door may reach; each is there when a configured plugin provides it. */
export type ManagementServices = AccountDirectory | Balances | UsageHistory | CredentialVault | RateTiers | AuditTrail

/** An account by id; undefined when it does not exist or no plugin keeps accounts. */
export const findAccount = (id: string): Effect.Effect<Account | undefined> =>
  Effect.flatMap(Effect.serviceOption(AccountDirectory), (directory) => Option.isSome(directory) ? directory.value.find(id) : Effect.succeed(undefined))

/** An account by id, or the 404 that names it. */
export const requireAccount = (id: string): Effect.Effect<Account, RouteNotFound> =>
  Effect.flatMap(findAccount(id), (account) => account === undefined ? Effect.fail(new RouteNotFound({ message: `no account ${id}` })) : Effect.succeed(account))

/**
 * An account as the account and admin APIs show it (SPEC section 5): its own fields, its limits
 * where the relay has tiers, its balance where it keeps balances.
 */
export const accountView = (account: Account): Effect.Effect<Record<string, unknown>> =>
  Effect.flatMap(Effect.all([Effect.serviceOption(RateTiers), Effect.serviceOption(Balances)]), ([tiers, balances]) => {
    const view: Record<string, unknown> = { id: account.id, name: account.name, tier: account.tier }
    // Shown only while suspended, so an active account's shape stays SPEC section 5's.
    if (account.suspendedAt !== null && account.suspendedAt !== undefined) view.suspended_at = new Date(account.suspendedAt).toISOString()
    const limits = Option.isSome(tiers) ? Effect.map(tiers.value.limitsFor(account), (limits) => Object.assign(view, { limits })) : Effect.succeed(view)
    if (Option.isNone(balances)) return limits
    return Effect.flatMap(limits, () => Effect.map(balances.value.balance(account.id), (balance) => Object.assign(view, { balance: formatUsd(balance) })))
  })

/**
 * The services the plugins provide, gathered. RateTiers is always there (the relay's own when no
 * plugin provides it); the others are read with `Context.getOption` or `Effect.serviceOption`.
 */
export type ProvidedContext = Context.Context<RateTiers>

/** A plugin's name and the services it provides, as gathered at start-up. */
export interface ProvidedServices {
  readonly plugin: string
  readonly services: Context.Context<never>
}

/**
 * Merges the services every plugin provides into the one context the doors run on. Each
 * service has exactly one provider: two plugins providing the same one is a config mistake,
 * reported with both names, never settled by config order. `defaults` fill what no plugin
 * provides.
 */
export const gatherServices = (provided: ReadonlyArray<ProvidedServices>, defaults: ProvidedContext): ProvidedContext => {
  const owners = new Map<string, string>()
  for (const { plugin, services } of provided) {
    for (const key of services.mapUnsafe.keys()) {
      const owner = owners.get(key)
      if (owner !== undefined) throw new Error(`plugins "${owner}" and "${plugin}" both provide ${key}; keep one of them`)
      owners.set(key, plugin)
    }
  }
  let merged = Context.empty() as Context.Context<never>
  for (const [key, service] of defaults.mapUnsafe) if (!owners.has(key)) merged = Context.merge(merged, Context.makeUnsafe(new Map([[key, service]])))
  for (const { services } of provided) merged = Context.merge(merged, services)
  return merged as ProvidedContext
}
