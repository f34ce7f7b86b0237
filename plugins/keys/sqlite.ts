import { Effect, Layer } from "effect"
import { Accounts, Sql } from "../../core/index.ts"
import { makeKeyStore } from "./store.ts"

/**
 * Accounts and keys in the relay's SQLite store. Its statements take microseconds, so each
 * answer is computed in place (`Effect.sync`): no hop to another turn of the event loop.
 */
export const sqliteAccounts: Layer.Layer<Accounts, never, Sql> = Layer.effect(
  Accounts,
  Effect.map(Sql, (sql) => {
    const store = makeKeyStore(sql)
    return Accounts.of({
      account: (id) => Effect.sync(() => store.account(id)),
      accounts: () => Effect.sync(() => store.accounts()),
      createAccount: (name, tier) => Effect.sync(() => store.createAccount(name, tier)),
      createFirstAccount: (name, tier) => Effect.sync(() => store.createFirstAccount(name, tier)),
      updateAccount: (id, changes) => Effect.sync(() => store.updateAccount(id, changes)),
      setSuspended: (id, suspended) => Effect.sync(() => store.setSuspended(id, suspended)),
      deleteAccount: (id) => Effect.sync(() => store.deleteAccount(id)),
      createKey: (accountId, name, key, restrictions) => Effect.sync(() => store.createKey(accountId, name, key, restrictions)),
      updateKey: (id, changes) => Effect.sync(() => store.updateKey(id, changes)),
      keys: (accountId) => Effect.sync(() => store.keys(accountId)),
      key: (id) => Effect.sync(() => store.key(id)),
      revokeKey: (id) => Effect.sync(() => store.revokeKey(id)),
      callerByHash: (hash) => Effect.sync(() => store.activeByHash(hash)),
      callerByKeyId: (keyId) => Effect.sync(() => store.activeById(keyId))
    })
  })
)
