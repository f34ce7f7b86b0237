import type { SqlValue } from "./services.ts"

/**
 * What the PostgreSQL migration runner needs of a database: a transaction on one connection
 * in which it runs plain statements and parameterised queries. runtime/ adapts the client.
 */
export interface PgMigrationSql {
  transaction<T>(fn: (tx: PgTransaction) => Promise<T>): Promise<T>
}

export interface PgTransaction {
  /** One or more statements separated by semicolons, without parameters. */
  exec(statements: string): Promise<void>
  query<T = Record<string, unknown>>(statement: string, params?: ReadonlyArray<SqlValue>): Promise<Array<T>>
}

/** One owner's tables in PostgreSQL: like SQLite's, its steps only ever grow. */
export interface PgSchema {
  readonly owner: string
  /** The tables its steps create, a referenced table before those that refer to it. */
  readonly tables: ReadonlyArray<string>
  readonly steps: ReadonlyArray<string>
}

/**
 * The advisory lock every migrating transaction holds. Nodes that start together queue on it,
 * so one applies each step and the others then find the schema current; it is released at
 * commit or rollback, also when a node dies mid-migration.
 */
const MIGRATION_LOCK = 0x72656c6179n // "relay"

/**
 * Brings each owner's tables up to date, in one transaction holding the migration lock. The
 * bookkeeping is SQLite's (core/migrate.ts): `schema_versions` holds the number of steps each
 * owner has applied, and step N runs once on every database that lacks it. Steps are applied
 * in order; a step that fails rolls back every step of the run, so a database is never left
 * half migrated.
 */
export const migratePg = async (sql: PgMigrationSql, schemas: ReadonlyArray<PgSchema>): Promise<void> => {
  await sql.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK])
    await tx.exec("CREATE TABLE IF NOT EXISTS schema_versions (owner TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    for (const { owner, steps } of schemas) {
      const [row] = await tx.query<{ version: number }>("SELECT version FROM schema_versions WHERE owner = $1", [owner])
      const current = row?.version ?? 0
      if (current > steps.length) {
        throw new Error(`the database's ${owner} tables are at version ${current}, newer than this relay's ${steps.length}: run a newer relay`)
      }
      if (current === steps.length) continue
      for (let step = current; step < steps.length; step++) await tx.exec(steps[step]!)
      await tx.query(
        "INSERT INTO schema_versions (owner, version) VALUES ($1, $2) ON CONFLICT (owner) DO UPDATE SET version = excluded.version",
        [owner, steps.length]
      )
    }
  })
}
