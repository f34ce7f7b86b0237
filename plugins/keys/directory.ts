import { Effect } from "effect"
import {
  type AccountDirectory,
  type AccountsShape,
  type Caller,
  effectiveLimits,
  InvalidRequest,
  type KeyInfo,
  NO_RESTRICTIONS,
  type RateTier,
  RouteNotFound,
  sha256Hex,
  type StoredAccount,
  type StoredKey
} from "../../core/index.ts"
import { refusalOf } from "./refusal.ts"
import { keyChanges, narrowerThan, restrictionsView, withinAccount } from "./restrictions.ts"
import { generateKey, isRelayKeyShape } from "./api-key.ts"
import type { KeyCache } from "./cache.ts"

/** The longest account name, in characters once trimmed. */
const NAME_MAX_CHARS = 200

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

const keyInfo = (row: StoredKey): KeyInfo => ({
  id: row.id,
  account_id: row.account_id,
  name: row.name,
  prefix: row.prefix,
  created_at: iso(row.created_at)!,
  revoked_at: iso(row.revoked_at),
  ...restrictionsView(row.restrictions)
})

interface DirectoryDeps {
  readonly store: AccountsShape
  readonly cache: KeyCache
  readonly tiers: Readonly<Record<string, RateTier>>
  readonly defaultTier: string
}

/**
 * Accounts and keys with the rules that guard them, for every door alike: trimmed names of 1 to
 * 200 characters, known tiers only, and every change that affects callers drops them from the
 * key cache so it applies to the next request.
 */
export const makeDirectory = ({ store, cache, tiers, defaultTier }: DirectoryDeps): AccountDirectory & {
  /** Who holds this active key, whatever its restrictions say (the proxy then says why it refuses). */
  readonly holderOf: (key: string) => Promise<Caller | undefined>
} => {
  const unknownTier = (tier: string) =>
    new InvalidRequest({ message: `tier: unknown tier "${tier}"; configured tiers: ${Object.keys(tiers).join(", ")}`, param: "tier" })
  const noAccount = (id: string) => new RouteNotFound({ message: `no account ${id}` })
  const run = Effect.runPromise
  /** An account that is not deleted. */
  const live = async (id: string): Promise<StoredAccount | undefined> => {
    const account = await run(store.account(id))
    return account === undefined || account.deletedAt !== null ? undefined : account
  }
  const limitsOf = (account: StoredAccount) => effectiveLimits({ tiers, defaultTier }, account)
  const usable = (caller: Caller | undefined) => (caller === undefined || refusalOf(caller, Date.now()) !== undefined ? undefined : caller)
  const holderOf = async (key: string) => (isRelayKeyShape(key) ? run(store.callerByHash(await sha256Hex(key))) : undefined)

  return {
    list: () => run(store.accounts()),

    create: async (name, tier = defaultTier) => {
      const trimmed = name.trim()
      if (trimmed.length === 0 || trimmed.length > NAME_MAX_CHARS) {
        return new InvalidRequest({ message: `name: expected 1 to ${NAME_MAX_CHARS} characters, not counting spaces at either end`, param: "name" })
      }
      return tiers[tier] === undefined ? unknownTier(tier) : run(store.createAccount(trimmed, tier))
    },

    update: async (id, changes) => {
      // A change that changes nothing is a mistake (a misspelt field, say), not a success.
      if (changes.tier === undefined && changes.rpm === undefined && changes.tpm === undefined) {
        return new InvalidRequest({ message: "nothing to change: expected at least one of tier, rpm, tpm" })
      }
      if (changes.tier !== undefined && tiers[changes.tier] === undefined) return unknownTier(changes.tier)
      if ((await live(id)) === undefined) return noAccount(id)
      const account = await run(store.updateAccount(id, changes))
      if (account === undefined) return noAccount(id)
      // Cached callers carry the account: drop them so the change applies to the next request.
      cache.dropWhere((caller) => caller.account.id === id)
      return account
    },

    keys: async (accountId) => ((await live(accountId)) === undefined ? undefined : (await run(store.keys(accountId))).map(keyInfo)),

    issueKey: async (accountId, name, changes = {}, parent) => {
      const account = await live(accountId)
      if (account === undefined) return noAccount(accountId)
      const restrictions = parent === undefined
        ? { ...NO_RESTRICTIONS, ...Object.fromEntries(Object.entries(changes).filter(([field, value]) => field !== "name" && value !== undefined)) }
        : narrowerThan(parent.key ?? NO_RESTRICTIONS, changes)
      if (restrictions instanceof InvalidRequest) return restrictions
      const refused = withinAccount(restrictions as typeof NO_RESTRICTIONS, limitsOf(account))
      if (refused !== undefined) return refused
      const { key, prefix } = generateKey()
      const stored = await run(store.createKey(accountId, name, { prefix, hash: await sha256Hex(key) }, restrictions as typeof NO_RESTRICTIONS))
      return { key, info: keyInfo(stored) }
    },

    keyChanges,

    updateKey: async (keyId, changes, accountId) => {
      const noKey = new RouteNotFound({ message: `no key ${keyId}` })
      const current = await run(store.key(keyId))
      if (current === undefined || (accountId !== undefined && current.account_id !== accountId)) return noKey
      if (Object.values(changes).every((value) => value === undefined)) {
        return new InvalidRequest({ message: "nothing to change: expected at least one of name, spend_limit, spend_period, models, expires_at, rpm, tpm, metadata" })
      }
      const account = await live(current.account_id)
      if (account === undefined) return noKey
      const refused = withinAccount({ ...current.restrictions, ...Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) }, limitsOf(account))
      if (refused !== undefined) return refused
      const updated = await run(store.updateKey(keyId, changes))
      if (updated === undefined) return noKey
      // A cached caller carries the key's restrictions: the change applies to the next request.
      cache.dropWhere((caller) => caller.keyId === keyId)
      return keyInfo(updated)
    },

    suspend: async (accountId, suspended) => {
      const account = await run(store.setSuspended(accountId, suspended))
      if (account === undefined) return noAccount(accountId)
      cache.dropWhere((caller) => caller.account.id === accountId)
      return account
    },

    remove: async (accountId) => {
      if (!(await run(store.deleteAccount(accountId)))) return false
      cache.dropWhere((caller) => caller.account.id === accountId)
      return true
    },

    revokeKey: async (keyId, accountId) => {
      if (accountId !== undefined && (await run(store.key(keyId)))?.account_id !== accountId) return false
      if (!(await run(store.revokeKey(keyId)))) return false
      cache.dropWhere((caller) => caller.keyId === keyId)
      return true
    },

    // A key its account's suspension or its own expiry refuses signs nobody in (the console).
    holderOf,

    callerForKey: async (key) => usable(await holderOf(key)),

    callerForKeyId: async (keyId) => usable(await run(store.callerByKeyId(keyId)))
  }
}
