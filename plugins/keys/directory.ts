import { Effect } from "effect"
import {
  type AccountDirectoryShape,
  type AccountsShape,
  InvalidRequest,
  type KeyInfo,
  type RateTiersShape,
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
  /** The tiers accounts may be put on: the limiter's, read when used (it is set up later). */
  readonly tiers: () => RateTiersShape
}

const noAccount = (id: string) => new RouteNotFound({ message: `no account ${id}` })

/**
 * Accounts and keys with the rules that guard them, for every door alike: trimmed names of 1 to
 * 200 characters, known tiers only, and every change that affects callers drops them from the
 * key cache so it applies to the next request.
 */
export const makeDirectory = ({ store, cache, tiers }: DirectoryDeps): AccountDirectoryShape => {
  const knownTier = (tier: string): Effect.Effect<string, InvalidRequest> => {
    const configured = tiers().tiers
    return configured[tier] === undefined
      ? Effect.fail(new InvalidRequest({ message: `tier: unknown tier "${tier}"; configured tiers: ${Object.keys(configured).join(", ")}`, param: "tier" }))
      : Effect.succeed(tier)
  }
  const existing = (id: string) => Effect.flatMap(store.account(id), (account) => (account === undefined ? Effect.fail(noAccount(id)) : Effect.succeed(account)))

  return {
    list: () => store.accounts(),

    find: (id) => store.account(id),

    create: (name, tier) => {
      const trimmed = name.trim()
      if (trimmed.length === 0 || trimmed.length > NAME_MAX_CHARS) {
        return Effect.fail(new InvalidRequest({ message: `name: expected 1 to ${NAME_MAX_CHARS} characters, not counting spaces at either end`, param: "name" }))
      }
      return Effect.flatMap(knownTier(tier ?? tiers().defaultTier), (known) => store.createAccount(trimmed, known))
    },

    update: (id, changes) => {
      // A change that changes nothing is a mistake (a misspelt field, say), not a success.
      if (changes.tier === undefined && changes.rpm === undefined && changes.tpm === undefined) {
        return Effect.fail(new InvalidRequest({ message: "nothing to change: expected at least one of tier, rpm, tpm" }))
      }
      return (changes.tier === undefined ? Effect.void : knownTier(changes.tier)).pipe(
        Effect.andThen(store.updateAccount(id, changes)),
        Effect.flatMap((account) => {
          if (account === undefined) return Effect.fail(noAccount(id))
          // Cached callers carry the account: drop them so the change applies to the next request.
          cache.dropWhere((caller) => caller.account.id === id)
          return Effect.succeed(account)
        })
      )
    },

    keys: (accountId) => existing(accountId).pipe(Effect.andThen(store.keys(accountId)), Effect.map((keys) => keys.map(keyInfo))),

    issueKey: (accountId, name) =>
      Effect.gen(function*() {
        yield* existing(accountId)
        const { key, prefix } = generateKey()
        const hash = yield* Effect.promise(() => sha256Hex(key))
        return { key, info: keyInfo(yield* store.createKey(accountId, name, { prefix, hash })) }
      }),

    revokeKey: (keyId, accountId) =>
      Effect.gen(function*() {
        if (accountId !== undefined && (yield* store.key(keyId))?.account_id !== accountId) return false
        if (!(yield* store.revokeKey(keyId))) return false
        cache.dropWhere((caller) => caller.keyId === keyId)
        return true
      }),

    callerForKey: (key) => (isRelayKeyShape(key) ? Effect.flatMap(Effect.promise(() => sha256Hex(key)), store.callerByHash) : Effect.succeed(undefined)),

    callerForKeyId: (keyId) => store.callerByKeyId(keyId)
  }
}
