/// <reference types="bun-types" />
import { Database } from "bun:sqlite"
import type { SqlShape, SqlValue } from "../core/index.ts"
import type { CheckpointDriver } from "./checkpoints.ts"
import { applyStorePragmas } from "./sqlite.ts"

/** bun:sqlite behind the relay's Sql service. */
export const openBunStore = (path: string): SqlShape => {
  const db = new Database(path, { create: true })
  applyStorePragmas((pragma) => db.exec(`PRAGMA ${pragma}`))
  return {
    exec: (sql) => void db.exec(sql),
    prepare: (sql, options) => {
      const statement = db.prepare<unknown, Array<SqlValue>>(sql)
      if (options?.bigints) statement.safeIntegers(true)
      return {
        run: (...params) => ({ changes: statement.run(...params).changes }),
        // bun:sqlite answers null for no row; the Sql service promises undefined.
        get: <T>(...params: ReadonlyArray<SqlValue>) => (statement.get(...params) ?? undefined) as T | undefined,
        all: <T>(...params: ReadonlyArray<SqlValue>) => statement.all(...params) as Array<T>
      }
    },
    transaction: (fn) => db.transaction(fn)(),
    close: () => db.close()
  }
}

/** bun:sqlite in the checkpoint worker. */
export const bunCheckpointDriver: CheckpointDriver = {
  open: `const { Database } = require("bun:sqlite"); const db = new Database(path)
    const checkpoint = db.query("PRAGMA wal_checkpoint(PASSIVE)")
    return { checkpoint: () => checkpoint.get(), close: () => db.close() }`
}
