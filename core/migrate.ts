import type { SqlShape } from "./services.ts"

/**
 * Brings one owner's tables (a plugin's store) up to date. `steps` only ever grows: step N is
 * applied once, in a transaction with the recorded version, on every store that lacks it.
 */
export const migrate = (sql: SqlShape, owner: string, steps: ReadonlyArray<string>): void => {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_versions (owner TEXT PRIMARY KEY, version INTEGER NOT NULL)")
  const current = sql.prepare("SELECT version FROM schema_versions WHERE owner = ?").get<{ version: number }>(owner)?.version ?? 0
  if (current >= steps.length) return
  sql.transaction(() => {
    for (let version = current; version < steps.length; version++) sql.exec(steps[version]!)
    sql.prepare(
      "INSERT INTO schema_versions (owner, version) VALUES (?, ?) ON CONFLICT (owner) DO UPDATE SET version = excluded.version"
    ).run(owner, steps.length)
  })
}
