import { Effect } from "effect"
import {
  type AccountDirectoryShape,
  type AccountsShape,
  type Caller,
  InvalidRequest,
  type KeyInfo,
  NO_RESTRICTIONS,
  type RateTiersShape,
  RouteNotFound,
  sha256Hex,
  type StoredKey
} from "../../core/index.ts"
import { generateKey, isRelayKeyShape } from "./api-key.ts"
import type { KeyCache } from "./cache.ts"
import { refusalOf } from "./refusal.ts"
import { applyChanges } from "./rows.ts"
import { keyChanges, narrowerThan, restrictionsView, withinAccount } from "./restrictions.ts"

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
  /** The tiers accounts may be put on: the limiter's, read when used (it is set up later). */
  readonly tiers: () => RateTiersShape
}

const noAccount = (id: string) => new RouteNotFound({ message: `no account ${id}` })

/**
 * Accounts and keys with the rules that guard them, for every door alike: trimmed names of 1 to
 * 200 characters, known tiers only, keys' restrictions within their account (and, for a key a
 * user makes, within the key they call with), and every change that affects callers drops them
 * from the key cache so it applies to the next request. A deleted account is found no more.
 */
export const makeDirectory = ({ store, cache, tiers }: DirectoryDeps): AccountDirectoryShape & {
  /** Who holds this active key, whatever its restrictions say (the proxy then says why it refuses). */
  readonly holderOf: (key: string) => Effect.Effect<Caller | undefined>
} => {
  const knownTier = (tier: string): Effect.Effect<string, InvalidRequest> => {
    const configured = tiers().tiers
    return configured[tier] === undefined
      ? Effect.fail(new InvalidRequest({ message: `tier: unknown tier "${tier}"; configured tiers: ${Object.keys(configured).join(", ")}`, param: "tier" }))
      : Effect.succeed(tier)
  }
  const live = (id: string) => Effect.map(store.account(id), (account) => (account === undefined || account.deletedAt !== null ? undefined : account))
  const existing = (id: string) => Effect.flatMap(live(id), (account) => (account === undefined ? Effect.fail(noAccount(id)) : Effect.succeed(account)))
  const holderOf = (key: string) => (isRelayKeyShape(key) ? Effect.flatMap(Effect.promise(() => sha256Hex(key)), store.callerByHash) : Effect.succeed(undefined))
  // A key its account's suspension or its own expiry refuses signs nobody in (the console).
  const usable = (caller: Caller | undefined) => (caller === undefined || refusalOf(caller, Date.now()) !== undefined ? undefined : caller)
  const checked = <A>(refusal: InvalidRequest | undefined, then: Effect.Effect<A, RouteNotFound | InvalidRequest>) =>
    refusal === undefined ? then : Effect.fail(refusal)

  return {
    list: () => store.accounts(),

    find: live,

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
      const { tier, ...overrides } = changes
      // Every check comes before any write: the tier, the account, then the overrides, which the
      // limiter keeps (and a relay without one refuses).
      return (tier === undefined ? Effect.void : knownTier(tier)).pipe(
        Effect.andThen(existing(id)),
        Effect.andThen(overrides.rpm === undefined && overrides.tpm === undefined ? Effect.void : tiers().setOverrides(id, overrides)),
        Effect.andThen(store.updateAccount(id, { tier })),
        Effect.flatMap((account) => {
          if (account === undefined) return Effect.fail(noAccount(id))
          // Cached callers carry the account: drop them so the change applies to the next request.
          cache.dropWhere((caller) => caller.account.id === id)
          return Effect.succeed(account)
        })
      )
    },

    keys: (accountId) => existing(accountId).pipe(Effect.andThen(store.keys(accountId)), Effect.map((keys) => keys.map(keyInfo))),

    issueKey: (accountId, name, changes = {}, parent) =>
      Effect.gen(function*() {
        const account = yield* existing(accountId)
        const restrictions = parent === undefined ? applyChanges(NO_RESTRICTIONS, changes) : narrowerThan(parent.key ?? NO_RESTRICTIONS, changes)
        if (restrictions instanceof InvalidRequest) return yield* Effect.fail(restrictions)
        const refused = withinAccount(restrictions, yield* tiers().limitsFor(account))
        if (refused !== undefined) return yield* Effect.fail(refused)
        const { key, prefix } = generateKey()
        const hash = yield* Effect.promise(() => sha256Hex(key))
        return { key, info: keyInfo(yield* store.createKey(accountId, name, { prefix, hash }, restrictions)) }
      }),

    keyChanges,

    updateKey: (keyId, changes, accountId, parent) =>
      Effect.gen(function*() {
        const noKey = new RouteNotFound({ message: `no key ${keyId}` })
        const current = yield* store.key(keyId)
        if (current === undefined || (accountId !== undefined && current.account_id !== accountId)) return yield* Effect.fail(noKey)
        if (Object.values(changes).every((value) => value === undefined)) {
          return yield* Effect.fail(new InvalidRequest({ message: "nothing to change: expected at least one of name, spend_limit, spend_period, models, expires_at, rpm, tpm, metadata" }))
        }
        const account = yield* live(current.account_id)
        if (account === undefined) return yield* Effect.fail(noKey)
        const restrictions = applyChanges(current.restrictions, changes)
        if (parent !== undefined) {
          const bound = parent.key ?? NO_RESTRICTIONS
          if (narrowerThan(bound, current.restrictions) instanceof InvalidRequest) {
            return yield* Effect.fail(new InvalidRequest({ message: `key ${keyId} is wider than the key you signed in with, so you may not change it` }))
          }
          const narrowed = narrowerThan(bound, restrictions)
          if (narrowed instanceof InvalidRequest) return yield* Effect.fail(narrowed)
        }
        const updated = yield* checked(withinAccount(restrictions, yield* tiers().limitsFor(account)), store.updateKey(keyId, changes))
        if (updated === undefined) return yield* Effect.fail(noKey)
        // A cached caller carries the key's restrictions: the change applies to the next request.
        cache.dropWhere((caller) => caller.keyId === keyId)
        return keyInfo(updated)
      }),

    suspend: (accountId, suspended) =>
      Effect.flatMap(store.setSuspended(accountId, suspended), (account) => {
        if (account === undefined) return Effect.fail(noAccount(accountId))
        cache.dropWhere((caller) => caller.account.id === accountId)
        return Effect.succeed(account)
      }),

    remove: (accountId) =>
      Effect.map(store.deleteAccount(accountId), (deleted) => {
        if (deleted) cache.dropWhere((caller) => caller.account.id === accountId)
        return deleted
      }),

    revokeKey: (keyId, accountId) =>
      Effect.gen(function*() {
        const owner = (yield* store.key(keyId))?.account_id
        if (owner === undefined || (accountId !== undefined && owner !== accountId)) return undefined
        if (!(yield* store.revokeKey(keyId))) return undefined
        cache.dropWhere((caller) => caller.keyId === keyId)
        return owner
      }),

    holderOf,

    callerForKey: (key) => Effect.map(holderOf(key), usable),

    callerForKeyId: (keyId) => Effect.map(store.callerByKeyId(keyId), usable)
  }
}
