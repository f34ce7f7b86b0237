import type { SqlShape } from "./services.ts"

/**
 * Brings one owner's tables (a plugin's store) up to date. `steps` only ever grows: step N is
 * applied once, in a transaction with the recorded version, on every store that lacks it.
 * Another process may be migrating the same store at the same moment (the command line beside
 * a starting relay), so the transaction takes the write lock first and reads the version again
 * under it.
 */
export const migrate = (sql: SqlShape, owner: string, steps: ReadonlyArray<string>): void => {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_versions (owner TEXT PRIMARY KEY, version INTEGER NOT NULL)")
  const version = sql.prepare("SELECT version FROM schema_versions WHERE owner = ?")
  const current = () => version.get<{ version: number }>(owner)?.version ?? 0
  if (current() >= steps.length) return
  sql.transaction(() => {
    // A write before any read: it waits for the lock, and the reads after it see the latest store.
    sql.prepare("INSERT INTO schema_versions (owner, version) VALUES (?, 0) ON CONFLICT (owner) DO NOTHING").run(owner)
    for (let step = current(); step < steps.length; step++) sql.exec(steps[step]!)
    sql.prepare("UPDATE schema_versions SET version = ? WHERE owner = ?").run(steps.length, owner)
  })
}
