import { Effect } from "effect"
import {
  type AccountDirectory,
  type AccountsShape,
  InvalidRequest,
  type KeyInfo,
  type RateTier,
  RouteNotFound,
  sha256Hex,
  type StoredKey
} from "../../core/index.ts"
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
  revoked_at: iso(row.revoked_at)
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
export const makeDirectory = ({ store, cache, tiers, defaultTier }: DirectoryDeps): AccountDirectory => {
  const unknownTier = (tier: string) =>
    new InvalidRequest({ message: `tier: unknown tier "${tier}"; configured tiers: ${Object.keys(tiers).join(", ")}`, param: "tier" })
  const noAccount = (id: string) => new RouteNotFound({ message: `no account ${id}` })
  const run = Effect.runPromise

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
      const account = await run(store.updateAccount(id, changes))
      if (account === undefined) return noAccount(id)
      // Cached callers carry the account: drop them so the change applies to the next request.
      cache.dropWhere((caller) => caller.account.id === id)
      return account
    },

    keys: async (accountId) => ((await run(store.account(accountId))) === undefined ? undefined : (await run(store.keys(accountId))).map(keyInfo)),

    issueKey: async (accountId, name) => {
      if ((await run(store.account(accountId))) === undefined) return noAccount(accountId)
      const { key, prefix } = generateKey()
      return { key, info: keyInfo(await run(store.createKey(accountId, name, { prefix, hash: await sha256Hex(key) }))) }
    },

    revokeKey: async (keyId, accountId) => {
      if (accountId !== undefined && (await run(store.key(keyId)))?.account_id !== accountId) return false
      if (!(await run(store.revokeKey(keyId)))) return false
      cache.dropWhere((caller) => caller.keyId === keyId)
      return true
    },

    callerForKey: async (key) => (isRelayKeyShape(key) ? run(store.callerByHash(await sha256Hex(key))) : undefined),

    callerForKeyId: (keyId) => run(store.callerByKeyId(keyId))
  }
}
