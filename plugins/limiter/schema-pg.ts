import type { PgSchema } from "../../core/index.ts"

/**
 * The limiter's table in PostgreSQL: per-account overrides, the same columns as in SQLite
 * (sqlite.ts), so a store copy moves rows as they are. Migrated after the keys plugin's tables
 * (config/pg-schemas.ts), so a database of the age when overrides were columns of accounts
 * brings them along.
 */
export const LIMITER_PG_SCHEMA: PgSchema = {
  owner: "limiter",
  tables: ["limiter_overrides"],
  steps: [
    `CREATE TABLE limiter_overrides (
       account_id TEXT PRIMARY KEY,
       rpm INTEGER,
       tpm INTEGER
     );
     INSERT INTO limiter_overrides (account_id, rpm, tpm)
       SELECT id, rpm, tpm FROM accounts WHERE rpm IS NOT NULL OR tpm IS NOT NULL`
  ]
}
