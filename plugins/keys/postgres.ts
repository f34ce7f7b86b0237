import { Effect, Layer } from "effect"
import { Accounts, clientOf, NO_RESTRICTIONS, type PostgresSource, query, randomBase62, type StoredAccount } from "../../core/index.ts"
import { type AccountRow, applyChanges, CALLER_KEY_COLUMNS, KEY_COLUMNS, type KeyRow, type RestrictionRow, restrictionValues, toAccount, toKey, toRestrictions } from "./rows.ts"

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
      const caller = (rows: ReadonlyArray<AccountRow & RestrictionRow & { key_id: string }>) => {
        const row = rows[0]
        return row === undefined ? undefined : { keyId: row.key_id, account: toAccount(row), key: toRestrictions(row) }
      }
      const accountColumns = sql`a.id, a.name, a.tier, a.created_at, a.suspended_at, a.deleted_at`
      const keyColumns = sql.unsafe(KEY_COLUMNS)
      const keyById = async (id: string) => (await sql<Array<KeyRow>>`SELECT ${keyColumns} FROM api_keys WHERE id = ${id}`).map(toKey)[0]
      /** The live key matching `match`, with its account: one indexed join, the request path's only call. */
      const callerWhere = (match: ReturnType<typeof sql>) =>
        query(async () =>
          caller(
            await sql<Array<AccountRow & RestrictionRow & { key_id: string }>>`
              SELECT ${sql.unsafe(CALLER_KEY_COLUMNS)}, ${accountColumns} FROM api_keys k JOIN accounts a ON a.id = k.account_id
              WHERE ${match} AND k.revoked_at IS NULL AND a.deleted_at IS NULL`
          )
        )
      return Accounts.of({
        account: (id) => query(async () => (await sql<Array<AccountRow>>`SELECT * FROM accounts WHERE id = ${id}`).map(toAccount)[0]),
        accounts: () => query(async () => (await sql<Array<AccountRow>>`SELECT * FROM accounts WHERE deleted_at IS NULL ORDER BY created_at, id`).map(toAccount)),
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
        setSuspended: (id, suspended) =>
          query(async () => {
            const [row] = await sql<Array<AccountRow>>`
              UPDATE accounts SET suspended_at = ${suspended ? Date.now() : null}::bigint WHERE id = ${id} AND deleted_at IS NULL RETURNING *`
            return row === undefined ? undefined : toAccount(row)
          }),
        deleteAccount: (id) =>
          query(async () => {
            const at = Date.now()
            const [deleted] = await sql<Array<{ deleted: boolean }>>`
              WITH gone AS (UPDATE accounts SET deleted_at = ${at} WHERE id = ${id} AND deleted_at IS NULL RETURNING id),
              revoked AS (UPDATE api_keys SET revoked_at = ${at} WHERE account_id IN (SELECT id FROM gone) AND revoked_at IS NULL)
              SELECT EXISTS (SELECT 1 FROM gone) AS deleted`
            return deleted!.deleted
          }),
        createKey: (accountId, name, key, restrictions = NO_RESTRICTIONS) =>
          query(async () => {
            const id = `key_${randomBase62(16)}`
            const v = restrictionValues(restrictions)
            await sql`
              INSERT INTO api_keys (id, account_id, name, prefix, hash, created_at, spend_limit_nano, spend_period, models, expires_at, key_rpm, key_tpm, metadata)
              VALUES (${id}, ${accountId}, ${name}, ${key.prefix}, ${key.hash}, ${Date.now()}, ${v.spend_limit_nano}::bigint, ${v.spend_period}::text,
                ${v.models}::text, ${v.expires_at}::bigint, ${v.key_rpm}::integer, ${v.key_tpm}::integer, ${v.metadata}::text)`
            return (await keyById(id))!
          }),
        updateKey: (id, changes) =>
          query(() =>
            sql.begin(async (tx) => {
              const [row] = await tx<Array<KeyRow>>`SELECT ${keyColumns} FROM api_keys WHERE id = ${id} FOR UPDATE`
              if (row === undefined) return undefined
              const current = toKey(row)
              const v = restrictionValues(applyChanges(current.restrictions, changes))
              const [updated] = await tx<Array<KeyRow>>`
                UPDATE api_keys SET name = ${changes.name === undefined ? current.name : changes.name}::text,
                  spend_limit_nano = ${v.spend_limit_nano}::bigint, spend_period = ${v.spend_period}::text, models = ${v.models}::text,
                  expires_at = ${v.expires_at}::bigint, key_rpm = ${v.key_rpm}::integer, key_tpm = ${v.key_tpm}::integer, metadata = ${v.metadata}::text
                WHERE id = ${id} RETURNING ${keyColumns}`
              return toKey(updated!)
            }) as Promise<ReturnType<typeof toKey> | undefined>
          ),
        keys: (accountId) =>
          query(async () =>
            (await sql<Array<KeyRow>>`SELECT ${keyColumns} FROM api_keys WHERE account_id = ${accountId} ORDER BY created_at, id`).map(toKey)
          ),
        key: (id) => query(() => keyById(id)),
        revokeKey: (id) =>
          query(async () => (await sql`UPDATE api_keys SET revoked_at = ${Date.now()} WHERE id = ${id} AND revoked_at IS NULL`).count > 0),
        callerByHash: (hash) => callerWhere(sql`k.hash = ${hash}`),
        callerByKeyId: (keyId) => callerWhere(sql`k.id = ${keyId}`)
      })
    })
  )
