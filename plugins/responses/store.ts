import { Effect, Layer } from "effect"
import { migrate, Sql, StoredResponses, type StoredResponse } from "../../core/index.ts"

const MIGRATIONS = [
  `CREATE TABLE stored_responses (
     id TEXT PRIMARY KEY,
     account_id TEXT NOT NULL,
     provider TEXT,
     byok INTEGER NOT NULL,
     response TEXT,
     input TEXT,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   )`,
  "CREATE INDEX stored_responses_expiry ON stored_responses (expires_at)"
]

/** A stored row, as both SQL stores read it (`byok` is 0 or 1). */
export interface ResponseRow {
  readonly id: string
  readonly provider: string | null
  readonly byok: number
  readonly response: string | null
  readonly input: string | null
}

export const responseOf = (row: ResponseRow): StoredResponse => ({
  id: row.id,
  provider: row.provider,
  byok: row.byok === 1,
  response: row.response === null ? undefined : JSON.parse(row.response),
  input: row.input === null ? [] : JSON.parse(row.input)
})

/** Expired rows are deleted at most this often, by the write that finds them due. */
export const PURGE_EVERY_MS = 60_000

/** Stored responses in the relay's SQLite store; each write is one synchronous statement. */
export const sqliteResponses: Layer.Layer<StoredResponses, never, Sql> = Layer.effect(
  StoredResponses,
  Effect.map(Sql, (sql) => {
    migrate(sql, "responses", MIGRATIONS)
    const insert = sql.prepare(
      `INSERT INTO stored_responses (id, account_id, provider, byok, response, input, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO NOTHING`
    )
    const one = sql.prepare("SELECT id, provider, byok, response, input FROM stored_responses WHERE id = ? AND account_id = ? AND expires_at > ?")
    const remove = sql.prepare("DELETE FROM stored_responses WHERE id = ? AND account_id = ?")
    const purge = sql.prepare("DELETE FROM stored_responses WHERE expires_at <= ?")
    let purgedAt = 0
    return StoredResponses.of({
      put: (account, entry, now, expiresAt) =>
        Effect.sync(() => {
          if (now - purgedAt >= PURGE_EVERY_MS) {
            purgedAt = now
            purge.run(now)
          }
          insert.run(
            entry.id,
            account,
            entry.provider,
            entry.byok ? 1 : 0,
            entry.response === undefined ? null : JSON.stringify(entry.response),
            entry.input === undefined ? null : JSON.stringify(entry.input),
            now,
            expiresAt
          )
        }),
      get: (account, id, now) =>
        Effect.sync(() => {
          const row = one.get<ResponseRow>(id, account, now)
          return row === undefined ? undefined : responseOf(row)
        }),
      remove: (account, id) => Effect.sync(() => remove.run(id, account).changes > 0)
    })
  })
)
