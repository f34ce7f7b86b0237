import { Effect, Layer } from "effect"
import { Credentials, Sql, type StoredCredential } from "../../core/index.ts"
import { asSealed, type CredentialRow, makeCredentialStore } from "./store.ts"

const stored = (row: CredentialRow): StoredCredential => ({
  accountId: row.account_id,
  provider: row.provider,
  sealed: asSealed(row),
  hint: row.hint,
  createdAt: Number(row.created_at)
})

/** Sealed BYOK credentials in the relay's SQLite store, answered in place. */
export const sqliteCredentials: Layer.Layer<Credentials, never, Sql> = Layer.effect(
  Credentials,
  Effect.map(Sql, (sql) => {
    const store = makeCredentialStore(sql)
    const get = (accountId: string, provider: string) => {
      const found = store.get(accountId, provider)
      return found === undefined ? undefined : stored(found.row)
    }
    return Credentials.of({
      put: (accountId, provider, sealed, hint) =>
        Effect.sync(() => stored(store.put(accountId, provider, sealed, hint))),
      get: (accountId, provider) => Effect.sync(() => get(accountId, provider)),
      list: (accountId) => Effect.sync(() => store.list(accountId).map(stored)),
      all: () => Effect.sync(() => store.all().map(({ row }) => stored(row))),
      reseal: (accountId, provider, sealed) => Effect.sync(() => store.reseal(accountId, provider, sealed)),
      remove: (accountId, provider) => Effect.sync(() => store.delete(accountId, provider))
    })
  })
)
