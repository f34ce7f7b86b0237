import Database from "better-sqlite3"
import { createRequire } from "node:module"
import type { SqlShape, SqlValue } from "../core/index.ts"
import type { CheckpointDriver } from "./checkpoints.ts"
import { applyStorePragmas } from "./sqlite.ts"

/** better-sqlite3 behind the relay's Sql service, in WAL mode. */
export const openNodeStore = (path: string): SqlShape => {
  const db = new Database(path)
  applyStorePragmas((pragma) => db.pragma(pragma))
  return {
    exec: (sql) => void db.exec(sql),
    prepare: (sql, options) => {
      const statement = db.prepare<Array<SqlValue>>(sql)
      if (options?.bigints) statement.safeIntegers(true)
      return {
        run: (...params) => ({ changes: statement.run(...params).changes }),
        get: <T>(...params: ReadonlyArray<SqlValue>) => statement.get(...params) as T | undefined,
        all: <T>(...params: ReadonlyArray<SqlValue>) => statement.all(...params) as Array<T>
      }
    },
    transaction: (fn) => db.transaction(fn)(),
    close: () => db.close()
  }
}

/** better-sqlite3 in the checkpoint worker, required by its resolved path (an evaluated worker has no module of its own to resolve from). */
export const nodeCheckpointDriver: CheckpointDriver = {
  open: `const Database = require(data); const db = new Database(path)
    return { checkpoint: () => db.pragma("wal_checkpoint(PASSIVE)")[0], close: () => db.close() }`,
  data: createRequire(import.meta.url).resolve("better-sqlite3")
}
