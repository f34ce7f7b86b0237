import type { Account, Caller, SpendPeriod } from "./context.ts"
import type { InvalidRequest, RelayError } from "./errors.ts"
import type { KeyUpdate } from "./ports/accounts.ts"
import type { AuditEntry, AuditQuery, StoredAuditEntry } from "./ports/audit-log.ts"
import type { DailySpend, SpendByDay, UsageRecordView } from "./ports/usage-records.ts"

/*
 * What plugins offer for managing the relay (accounts and keys, usage, BYOK credentials), as
 * optional plugin hooks, and its gathering into one Management value.
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

/**
 * Accounts and relay keys, offered by the plugin that keeps them. The admin API, the console
 * and the command line all manage accounts through it, so each rule lives in one place.
 */
export interface AccountDirectory {
  readonly list: () => Promise<ReadonlyArray<Account>>
  /**
   * Opens an account on `tier` (the default tier when undefined), named `name` trimmed; a name
   * left empty or over 200 characters, or an unknown tier, is refused.
   */
  readonly create: (name: string, tier: string | undefined) => Promise<Account | RelayError>
  /** Applies `changes`; changes that name no field are refused. */
  readonly update: (id: string, changes: AccountChanges) => Promise<Account | RelayError>
  /** The account's keys, revoked ones included; undefined when there is no such account. */
  readonly keys: (accountId: string) => Promise<ReadonlyArray<KeyInfo> | undefined>
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
  ) => Promise<{ readonly key: string; readonly info: KeyInfo } | RelayError>
  /**
   * A key's name and restrictions from the API's fields (`spend_limit`, `models`...), checked by
   * the rules every door shares; a field left out is left as it is, `null` clears it.
   */
  readonly keyChanges: (fields: unknown) => KeyUpdate | InvalidRequest
  /** Changes a key's name or restrictions (with `accountId`, only a key of that account); effective on the next request. */
  readonly updateKey: (keyId: string, changes: KeyUpdate, accountId?: string) => Promise<KeyInfo | RelayError>
  /** Suspends (every key refused with 403 until resumed) or resumes an account. */
  readonly suspend: (accountId: string, suspended: boolean) => Promise<Account | RelayError>
  /** Deletes an account: its keys revoked, its usage and ledger kept; false when there was none. */
  readonly remove: (accountId: string) => Promise<boolean>
  /**
   * Revokes an active key, effective on the next request; with `accountId`, only a key of that
   * account. False when there was no such active key.
   */
  readonly revokeKey: (keyId: string, accountId?: string) => Promise<boolean>
  /** Who holds this relay key, if it is active (a sign-in with the key itself). */
  readonly callerForKey: (key: string) => Promise<Caller | undefined>
  /** Who holds the key with this id, while it stays active (a session re-checked without the key). */
  readonly callerForKeyId: (keyId: string) => Promise<Caller | undefined>
}

/** An account's usage history, offered by the plugin that records it (billing). */
export interface UsageHistory {
  /** The newest `limit` records, newest first. */
  readonly list: (accountId: string, limit: number) => Promise<ReadonlyArray<UsageRecordView>>
  /**
   * Spend per UTC day (`YYYY-MM-DD`, nano-USD) over the last `days` days including today,
   * oldest first; days without usage are left out.
   */
  readonly dailySpend: (accountId: string, days: number) => Promise<ReadonlyArray<DailySpend>>
  /** Every account's spend per UTC day and account or model (the operator's view), oldest first. */
  readonly spendBy: (by: "account" | "model", days: number) => Promise<ReadonlyArray<SpendByDay>>
}

/** A stored BYOK credential as it is shown: its provider and a hint, never the key. */
export interface CredentialInfo {
  readonly provider: string
  readonly key_hint: string
  readonly created_at: string
}

/** The accounts' own provider keys, offered by the plugin that seals them (vault). */
export interface CredentialVault {
  /** Providers a credential may be stored for. */
  readonly providers: () => ReadonlyArray<string>
  readonly list: (accountId: string) => Promise<ReadonlyArray<CredentialInfo>>
  /** Seals and stores `apiKey`, replacing an earlier one; a bad provider or key is refused. */
  readonly put: (accountId: string, provider: string, apiKey: unknown) => Promise<CredentialInfo | RelayError>
  /** False when there was nothing to delete. */
  readonly remove: (accountId: string, provider: string) => Promise<boolean>
  /**
   * The account's own key for a provider, opened to be sent to that provider and nowhere else
   * (a stored response made with it is read with it); undefined when none is stored.
   */
  readonly secretFor: (accountId: string, provider: string, requestId: string) => Promise<string | undefined | RelayError>
  /**
   * Re-seals every credential under the current master key, after making a new one when the
   * relay keeps its own key file (`generated`).
   */
  readonly rotate: () => Promise<{ readonly key_id: string; readonly generated: boolean; readonly resealed: number } | RelayError>
}

/** The audit log of state changes, offered by the plugin that keeps it. */
export interface AuditTrail {
  /** Records a change; a store that refuses it is logged, never the change's own failure. */
  readonly record: (entry: AuditEntry) => Promise<void>
  readonly list: (query: AuditQuery) => Promise<ReadonlyArray<StoredAuditEntry>>
}

/** What a plugin may offer for managing the relay: part of its hooks (see PluginHooks). */
export interface ManagementHooks {
  /** Fields this plugin adds to an account's JSON (the billing plugin adds the balance). */
  readonly accountView?: (account: Account) => Promise<Record<string, unknown>>
  /** Looks an account up by id (the plugin that keeps accounts). */
  readonly findAccount?: (id: string) => Promise<Account | undefined>
  /**
   * Adds credit to an account's balance (the billing plugin). Every door books credit through
   * it, so it alone checks the input: it answers the refusal, naming the field, with nothing
   * written, when the amount or the balance it would leave is beyond MONEY_LIMIT_NANO (`amount`)
   * or the note is too long (`note`); undefined once booked.
   */
  readonly credit?: (accountId: string, amount: bigint, note: string | null) => Promise<InvalidRequest | undefined>
  /**
   * What a relay key was charged in its spend period holding now (UTC; null: its lifetime), in
   * nano-USD, every settled request included (the billing plugin).
   */
  readonly keySpent?: (keyId: string, period: SpendPeriod | null) => Promise<bigint>
  /** Account and key management (the plugin that keeps accounts); the first one is used. */
  readonly accounts?: AccountDirectory
  /** Usage history (the plugin that records usage); the first one is used. */
  readonly usage?: UsageHistory
  /** BYOK credential management (the plugin that stores them); the first one is used. */
  readonly vault?: CredentialVault
  /** The audit log (the plugin that keeps it); the first one is used. */
  readonly audit?: AuditTrail
}

/**
 * What the plugins offer for managing the relay, gathered from all of them: the admin API,
 * the console and the command line use it alike. A part is undefined when no configured
 * plugin offers it.
 */
export interface Management {
  /** An account as the account and admin APIs show it, with every plugin's fields. */
  readonly accountView: (account: Account) => Promise<Record<string, unknown>>
  /** An account by id, from the plugin that keeps accounts. */
  readonly findAccount: (id: string) => Promise<Account | undefined>
  /** Adds credit to an account, when a plugin keeps balances (billing); else undefined. */
  readonly credit: ManagementHooks["credit"]
  /** A key's spend in its current period, when a plugin keeps balances (billing); else undefined. */
  readonly keySpent: ManagementHooks["keySpent"]
  readonly accounts: AccountDirectory | undefined
  readonly usage: UsageHistory | undefined
  readonly vault: CredentialVault | undefined
  readonly audit: AuditTrail | undefined
}

/**
 * Gathers what the plugins offer for managing the relay. The HTTP routes get it through their
 * RouteKit; the command line, which serves nothing, calls this directly.
 */
export const management = (plugins: ReadonlyArray<ManagementHooks>): Management => {
  const views = plugins.flatMap((p) => (p.accountView ? [p.accountView] : []))
  return {
    accountView: async (account: Account) => Object.assign({}, ...(await Promise.all(views.map((view) => view(account))))),
    findAccount: plugins.find((p) => p.findAccount)?.findAccount ?? (() => Promise.resolve(undefined)),
    credit: plugins.find((p) => p.credit)?.credit,
    keySpent: plugins.find((p) => p.keySpent)?.keySpent,
    accounts: plugins.find((p) => p.accounts)?.accounts,
    usage: plugins.find((p) => p.usage)?.usage,
    vault: plugins.find((p) => p.vault)?.vault,
    audit: plugins.find((p) => p.audit)?.audit
  }
}
