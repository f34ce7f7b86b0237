import { Effect, Layer } from "effect"
import { clientOf, Credentials, type PostgresSource, query, type StoredCredential } from "../../core/index.ts"
import { asSealed, type CredentialRow } from "./store.ts"

type Row = Omit<CredentialRow, "created_at"> & { readonly created_at: bigint }

const stored = (row: Row): StoredCredential => ({
  accountId: row.account_id,
  provider: row.provider,
  sealed: asSealed({ ...row, created_at: Number(row.created_at) }),
  hint: row.hint,
  createdAt: Number(row.created_at)
})

/**
 * Sealed BYOK credentials in PostgreSQL, shared by every relay node; each node opens them with
 * the master key they share. One round trip per call.
 */
export const postgresCredentials = (source: PostgresSource): Layer.Layer<Credentials> =>
  Layer.effect(
    Credentials,
    Effect.map(clientOf(source), (sql) =>
      Credentials.of({
        put: (accountId, provider, sealed, hint) =>
          query(async () => {
            const [row] = await sql<Array<Row>>`
              INSERT INTO byok_credentials (account_id, provider, key_id, iv, ciphertext, hint, created_at)
              VALUES (${accountId}, ${provider}, ${sealed.keyId}, ${sealed.iv}, ${sealed.ciphertext}, ${hint}, ${Date.now()})
              ON CONFLICT (account_id, provider) DO UPDATE SET
                key_id = excluded.key_id, iv = excluded.iv, ciphertext = excluded.ciphertext, hint = excluded.hint, created_at = excluded.created_at
              RETURNING *`
            return stored(row!)
          }),
        get: (accountId, provider) =>
          query(async () =>
            (await sql<Array<Row>>`SELECT * FROM byok_credentials WHERE account_id = ${accountId} AND provider = ${provider}`).map(stored)[0]
          ),
        list: (accountId) =>
          query(async () => (await sql<Array<Row>>`SELECT * FROM byok_credentials WHERE account_id = ${accountId} ORDER BY provider`).map(stored)),
        all: () => query(async () => (await sql<Array<Row>>`SELECT * FROM byok_credentials`).map(stored)),
        reseal: (accountId, provider, sealed) =>
          query(async () => {
            await sql`
              UPDATE byok_credentials SET key_id = ${sealed.keyId}, iv = ${sealed.iv}, ciphertext = ${sealed.ciphertext}
              WHERE account_id = ${accountId} AND provider = ${provider}`
          }),
        remove: (accountId, provider) =>
          query(async () => (await sql`DELETE FROM byok_credentials WHERE account_id = ${accountId} AND provider = ${provider}`).count > 0)
      })
    )
  )
