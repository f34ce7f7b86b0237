import type { PgSchema } from "../../core/index.ts"

/**
 * Console sessions in PostgreSQL, for several relay nodes on one database: a session made on
 * one node works on all of them. A session is found by the SHA-256 of its id (the browser holds
 * the id), so the table alone signs nobody in; a flash is sealed under the master key, since it
 * may hold a key just issued. Times are Unix milliseconds.
 */
export const CONSOLE_PG_SCHEMA: PgSchema = {
  owner: "console",
  tables: ["console_sessions"],
  steps: [
    `CREATE TABLE console_sessions (
       id_hash TEXT PRIMARY KEY,
       csrf TEXT NOT NULL,
       principal TEXT,
       address TEXT NOT NULL,
       expires_at BIGINT NOT NULL,
       flash_key_id TEXT,
       flash_iv BYTEA,
       flash BYTEA
     );
     CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
     CREATE INDEX console_sessions_signed_out ON console_sessions (address, expires_at) WHERE principal IS NULL`
  ]
}
