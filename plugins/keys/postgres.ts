import { Effect, Layer } from "effect"
import { Accounts, clientOf, type PostgresSource, query, randomBase62, type StoredAccount, type StoredKey } from "../../core/index.ts"

interface AccountRow {
  readonly id: string
  readonly name: string
  readonly tier: string
  readonly created_at: bigint
}

interface KeyRow {
  readonly id: string
  readonly account_id: string
  readonly name: string | null
  readonly prefix: string
  readonly created_at: bigint
  readonly revoked_at: bigint | null
}

const toAccount = (row: AccountRow): StoredAccount => ({
  id: row.id,
  name: row.name,
  tier: row.tier,
  createdAt: Number(row.created_at)
})

const toKey = (row: KeyRow): StoredKey => ({
  id: row.id,
  account_id: row.account_id,
  name: row.name,
  prefix: row.prefix,
  created_at: Number(row.created_at),
  revoked_at: row.revoked_at === null ? null : Number(row.revoked_at)
})

/** Serialises first-account creation across nodes: `NOT EXISTS` takes no table lock in PostgreSQL. */
const FIRST_ACCOUNT_LOCK = 0x72656c6179_01n

/**
 * Accounts and keys in PostgreSQL (the tables of schema-pg.ts, migrated at start), shared by
 * every relay node. The request path asks only `callerByHash` and `callerByKeyId`, on a cache
 * miss: one indexed join each, one round trip.
 */
export const postgresAccounts = (source: PostgresSource): Layer.Layer<Accounts> =>
  Layer.effect(
    Accounts,
    Effect.map(clientOf(source), (sql) => {
      const caller = (rows: ReadonlyArray<AccountRow & { key_id: string }>) => {
        const row = rows[0]
        return row === undefined ? undefined : { keyId: row.key_id, account: toAccount(row) }
      }
      const accountColumns = sql`a.id, a.name, a.tier, a.created_at`
      /** The live key matching `match`, with its account: one indexed join, the request path's only call. */
      const callerWhere = (match: ReturnType<typeof sql>) =>
        query(async () =>
          caller(
            await sql<Array<AccountRow & { key_id: string }>>`
              SELECT k.id AS key_id, ${accountColumns} FROM api_keys k JOIN accounts a ON a.id = k.account_id
              WHERE ${match} AND k.revoked_at IS NULL`
          )
        )
      return Accounts.of({
        account: (id) => query(async () => (await sql<Array<AccountRow>>`SELECT * FROM accounts WHERE id = ${id}`).map(toAccount)[0]),
        accounts: () => query(async () => (await sql<Array<AccountRow>>`SELECT * FROM accounts ORDER BY created_at, id`).map(toAccount)),
        createAccount: (name, tier) =>
          query(async () => {
            const [row] = await sql<Array<AccountRow>>`
              INSERT INTO accounts (id, name, tier, rpm, tpm, created_at)
              VALUES (${`acct_${randomBase62(16)}`}, ${name}, ${tier}, NULL, NULL, ${Date.now()}) RETURNING *`
            return toAccount(row!)
          }),
        createFirstAccount: (name, tier) =>
          query(() =>
            sql.begin(async (tx) => {
              await tx`SELECT pg_advisory_xact_lock(${FIRST_ACCOUNT_LOCK})`
              const [row] = await tx<Array<AccountRow>>`
                INSERT INTO accounts (id, name, tier, rpm, tpm, created_at)
                SELECT ${`acct_${randomBase62(16)}`}, ${name}, ${tier}, NULL, NULL, ${Date.now()}
                WHERE NOT EXISTS (SELECT 1 FROM accounts) RETURNING *`
              return row === undefined ? undefined : toAccount(row)
            }) as Promise<StoredAccount | undefined>
          ),
        updateAccount: (id, changes) =>
          query(async () => {
            // A tier left undefined keeps its value.
            const [row] = await sql<Array<AccountRow>>`
              UPDATE accounts SET tier = COALESCE(${changes.tier ?? null}::text, tier)
              WHERE id = ${id} RETURNING *`
            return row === undefined ? undefined : toAccount(row)
          }),
        createKey: (accountId, name, key) =>
          query(async () => {
            const [row] = await sql<Array<KeyRow>>`
              INSERT INTO api_keys (id, account_id, name, prefix, hash, created_at)
              VALUES (${`key_${randomBase62(16)}`}, ${accountId}, ${name}, ${key.prefix}, ${key.hash}, ${Date.now()})
              RETURNING id, account_id, name, prefix, created_at, revoked_at`
            return toKey(row!)
          }),
        keys: (accountId) =>
          query(async () =>
            (await sql<Array<KeyRow>>`
              SELECT id, account_id, name, prefix, created_at, revoked_at FROM api_keys
              WHERE account_id = ${accountId} ORDER BY created_at, id`).map(toKey)
          ),
        key: (id) =>
          query(async () =>
            (await sql<Array<KeyRow>>`SELECT id, account_id, name, prefix, created_at, revoked_at FROM api_keys WHERE id = ${id}`).map(toKey)[0]
          ),
        revokeKey: (id) =>
          query(async () => (await sql`UPDATE api_keys SET revoked_at = ${Date.now()} WHERE id = ${id} AND revoked_at IS NULL`).count > 0),
        callerByHash: (hash) => callerWhere(sql`k.hash = ${hash}`),
        callerByKeyId: (keyId) => callerWhere(sql`k.id = ${keyId}`)
      })
    })
  )
