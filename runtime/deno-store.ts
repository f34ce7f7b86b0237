import { DatabaseSync } from "node:sqlite"
import type { SqlShape, SqlValue } from "../core/index.ts"
import type { CheckpointDriver } from "./checkpoints.ts"
import { applyStorePragmas } from "./sqlite.ts"

/** node:sqlite (built into Deno) behind the relay's Sql service. */
export const openDenoStore = (path: string): SqlShape => {
  const db = new DatabaseSync(path)
  applyStorePragmas((pragma) => db.exec(`PRAGMA ${pragma}`))
  return {
    exec: (sql) => db.exec(sql),
    prepare: (sql, options) => {
      const statement = db.prepare(sql)
      if (options?.bigints) statement.setReadBigInts(true)
      return {
        run: (...params) => ({ changes: Number(statement.run(...params).changes) }),
        get: <T>(...params: ReadonlyArray<SqlValue>) => statement.get(...params) as T | undefined,
        all: <T>(...params: ReadonlyArray<SqlValue>) => statement.all(...params) as Array<T>
      }
    },
    // node:sqlite has no transaction helper. A savepoint opens a transaction when none is open
    // and nests inside one (a name refers to the innermost savepoint that has it), like
    // better-sqlite3's and bun:sqlite's helpers.
    transaction: (fn) => {
      db.exec("SAVEPOINT relay_tx")
      try {
        const result = fn()
        db.exec("RELEASE relay_tx")
        return result
      } catch (error) {
        db.exec("ROLLBACK TO relay_tx")
        db.exec("RELEASE relay_tx")
        throw error
      }
    },
    close: () => db.close()
  }
}

/** node:sqlite in the checkpoint worker. */
export const denoCheckpointDriver: CheckpointDriver = {
  open: `const { DatabaseSync } = require("node:sqlite"); const db = new DatabaseSync(path)
    const checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)")
    return { checkpoint: () => checkpoint.get(), close: () => db.close() }`
}
