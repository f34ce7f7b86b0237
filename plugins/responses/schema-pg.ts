import type { PgSchema } from "../../core/index.ts"

/**
 * Stored responses in PostgreSQL, for several relay nodes on one database: the same columns as
 * in SQLite (store.ts), so `previous_response_id` works whichever node answers. Times are Unix
 * milliseconds; `response` and `input` are JSON text.
 */
export const RESPONSES_PG_SCHEMA: PgSchema = {
  owner: "responses",
  tables: ["stored_responses"],
  steps: [
    `CREATE TABLE stored_responses (
       id TEXT PRIMARY KEY,
       account_id TEXT NOT NULL,
       provider TEXT,
       byok INTEGER NOT NULL,
       response TEXT,
       input TEXT,
       created_at BIGINT NOT NULL,
       expires_at BIGINT NOT NULL
     );
     CREATE INDEX stored_responses_expiry ON stored_responses (expires_at)`
  ]
}
