import Database from "better-sqlite3"
import type { SqlShape, SqlValue } from "../core/index.ts"
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
