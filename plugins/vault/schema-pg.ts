import type { PgSchema } from "../../core/index.ts"

/**
 * The vault's table in PostgreSQL, for several relay nodes on one database: the same columns as
 * in SQLite (store.ts). Credentials stay sealed under the master key named by `key_id`, which
 * every node must share; the database never holds a provider key in the clear.
 */
export const VAULT_PG_SCHEMA: PgSchema = {
  owner: "vault",
  tables: ["byok_credentials"],
  steps: [
    `CREATE TABLE byok_credentials (
       account_id TEXT NOT NULL,
       provider TEXT NOT NULL,
       key_id TEXT NOT NULL,
       iv BYTEA NOT NULL,
       ciphertext BYTEA NOT NULL,
       hint TEXT NOT NULL,
       created_at BIGINT NOT NULL,
       PRIMARY KEY (account_id, provider)
     )`
  ]
}
