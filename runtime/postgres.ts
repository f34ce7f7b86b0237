import postgres from "postgres"
import type { PgMigrationSql, Postgres } from "../core/index.ts"


export { connectPostgres, type Postgres } from "../core/index.ts"

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
