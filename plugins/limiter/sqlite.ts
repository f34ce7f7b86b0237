import { Effect, Layer } from "effect"
import { AccountLimits, type LimitOverrides, migrate, NO_OVERRIDES, Sql, type SqlShape } from "../../core/index.ts"

interface OverridesRow {
  readonly rpm: number | null
  readonly tpm: number | null
}

/**
 * Per-account limits were columns of the keys plugin's accounts before the limiter kept them: a
 * store of that age brings its overrides along. A store without those columns (a new one, where
 * the limiter may migrate before the keys plugin) has nothing to copy; the step is then a no-op.
 */
const migrations = (sql: SqlShape) => {
  const hasOldColumns = sql.prepare("SELECT 1 AS found FROM pragma_table_info('accounts') WHERE name = 'rpm'").get<{ found: number }>() !== undefined
  return [
    `CREATE TABLE limiter_overrides (
       account_id TEXT PRIMARY KEY,
       rpm INTEGER,
       tpm INTEGER
     )`,
    hasOldColumns
      ? "INSERT INTO limiter_overrides (account_id, rpm, tpm) SELECT id, rpm, tpm FROM accounts WHERE rpm IS NOT NULL OR tpm IS NOT NULL"
      : "SELECT 1"
  ]
}

/**
 * Per-account overrides in the relay's SQLite store. Its statements take microseconds, so each
 * answer is computed in place (`Effect.sync`). An account whose overrides are both cleared
 * has its row removed.
 */
export const sqliteAccountLimits: Layer.Layer<AccountLimits, never, Sql> = Layer.effect(
  AccountLimits,
  Effect.map(Sql, (sql) => {
    migrate(sql, "limiter", migrations(sql))
    const select = sql.prepare("SELECT rpm, tpm FROM limiter_overrides WHERE account_id = ?")
    const upsert = sql.prepare(
      "INSERT INTO limiter_overrides (account_id, rpm, tpm) VALUES (?, ?, ?) ON CONFLICT (account_id) DO UPDATE SET rpm = excluded.rpm, tpm = excluded.tpm"
    )
    const remove = sql.prepare("DELETE FROM limiter_overrides WHERE account_id = ?")
    const get = (accountId: string): LimitOverrides => {
      const row = select.get<OverridesRow>(accountId)
      return row === undefined ? NO_OVERRIDES : { rpm: row.rpm, tpm: row.tpm }
    }
    return AccountLimits.of({
      get: (accountId) => Effect.sync(() => get(accountId)),
      set: (accountId, changes) =>
        Effect.sync(() =>
          sql.transaction(() => {
            const current = get(accountId)
            const next = { rpm: changes.rpm === undefined ? current.rpm : changes.rpm, tpm: changes.tpm === undefined ? current.tpm : changes.tpm }
            if (next.rpm === null && next.tpm === null) remove.run(accountId)
            else upsert.run(accountId, next.rpm, next.tpm)
            return next
          })
        )
    })
  })
)
