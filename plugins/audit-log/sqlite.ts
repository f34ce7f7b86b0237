import { Effect, Layer } from "effect"
import { AuditLog, migrate, Sql } from "../../core/index.ts"
import { type AuditRow, COLUMNS, rowValues, toEntry } from "./rows.ts"

const MIGRATIONS = [
  `CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     actor TEXT NOT NULL CHECK (actor IN ('admin', 'cli', 'key')),
     actor_account_id TEXT,
     actor_key_id TEXT,
     action TEXT NOT NULL,
     account_id TEXT,
     target TEXT,
     details TEXT,
     request_id TEXT
   );
   CREATE INDEX audit_log_by_account ON audit_log (account_id, id)`
]

/** The audit log in the relay's SQLite store: append-only, answered in place. */
export const sqliteAuditLog: Layer.Layer<AuditLog, never, Sql> = Layer.effect(
  AuditLog,
  Effect.map(Sql, (sql) => {
    migrate(sql, "audit", MIGRATIONS)
    const insert = sql.prepare(`INSERT INTO audit_log (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    const all = sql.prepare("SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?")
    const ofAccount = sql.prepare("SELECT * FROM audit_log WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?")
    return AuditLog.of({
      record: (entry) => Effect.sync(() => void insert.run(...rowValues(entry))),
      list: ({ accountId, before, limit }) =>
        Effect.sync(() => {
          const below = before ?? Number.MAX_SAFE_INTEGER
          const rows = accountId === undefined ? all.all<AuditRow>(below, limit) : ofAccount.all<AuditRow>(accountId, below, limit)
          return rows.map(toEntry)
        })
    })
  })
)
