import type { PgSchema } from "../../core/index.ts"

/**
 * The keys plugin's tables in PostgreSQL, for several relay nodes on one database: the same
 * columns as in SQLite (store.ts), so a store copy moves rows as they are. Times are Unix
 * milliseconds; a key is kept only as its hash. The accounts' rpm and tpm columns held
 * per-account limits before the limiter kept them (plugins/limiter/schema-pg.ts copied them);
 * they stay, unread, so a store copy from an older SQLite store still matches column for column.
 */
export const KEYS_PG_SCHEMA: PgSchema = {
  owner: "keys",
  tables: ["accounts", "api_keys"],
  steps: [
    `CREATE TABLE accounts (
       id TEXT PRIMARY KEY,
       name TEXT NOT NULL,
       tier TEXT NOT NULL,
       rpm INTEGER,
       tpm INTEGER,
       created_at BIGINT NOT NULL
     );
     CREATE TABLE api_keys (
       id TEXT PRIMARY KEY,
       account_id TEXT NOT NULL REFERENCES accounts (id),
       name TEXT,
       prefix TEXT NOT NULL,
       hash TEXT NOT NULL UNIQUE,
       created_at BIGINT NOT NULL,
       revoked_at BIGINT
     );
     CREATE INDEX api_keys_by_account ON api_keys (account_id)`,
    // Key restrictions (SPEC section 15) and account suspension and deletion.
    `ALTER TABLE api_keys
       ADD COLUMN spend_limit_nano BIGINT,
       ADD COLUMN spend_period TEXT,
       ADD COLUMN models TEXT,
       ADD COLUMN expires_at BIGINT,
       ADD COLUMN key_rpm INTEGER,
       ADD COLUMN key_tpm INTEGER,
       ADD COLUMN metadata TEXT;
     ALTER TABLE accounts ADD COLUMN suspended_at BIGINT, ADD COLUMN deleted_at BIGINT`
  ]
}
