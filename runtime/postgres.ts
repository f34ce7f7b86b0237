import postgres from "postgres"
import type { PgMigrationSql } from "../core/index.ts"

/**
 * PostgreSQL through postgres.js, a pure-JavaScript client that runs alike on Node, Bun, Deno
 * and in the single executable. BIGINT columns read as bigint, since money is integer nano-USD
 * and passes Number.MAX_SAFE_INTEGER at about nine million dollars.
 */
export const connectPostgres = (url: string, options: { readonly connectTimeoutSeconds?: number } = {}) =>
  postgres(url, {
    types: { bigint: postgres.BigInt },
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    onnotice: () => undefined
  })

export type Postgres = ReturnType<typeof connectPostgres>
type PostgresTransaction = postgres.TransactionSql<{ bigint: bigint }>

/** The migration runner's view of a transaction. */
export const pgTransaction = (tx: PostgresTransaction) => ({
  exec: async (statements: string) => void (await tx.unsafe(statements)),
  query: <T>(statement: string, params: ReadonlyArray<unknown> = []) =>
    tx.unsafe(statement, params as Array<postgres.ParameterOrJSON<never>>) as unknown as Promise<Array<T>>
})

export const pgMigrationSql = (sql: Postgres): PgMigrationSql => ({
  transaction: <T>(fn: (tx: ReturnType<typeof pgTransaction>) => Promise<T>) =>
    sql.begin((tx) => fn(pgTransaction(tx))) as Promise<T>
})
