/**
 * The part of `node:sqlite` that runtime/deno-store.ts uses. Deno ships the module; the Node
 * typings this project is checked against (Node 20) predate it.
 */
declare module "node:sqlite" {
  type Value = string | number | bigint | null | Uint8Array

  export class StatementSync {
    run(...params: ReadonlyArray<Value>): { changes: number | bigint; lastInsertRowid: number | bigint }
    get(...params: ReadonlyArray<Value>): unknown
    all(...params: ReadonlyArray<Value>): Array<unknown>
    setReadBigInts(enabled: boolean): void
  }

  export class DatabaseSync {
    constructor(path: string)
    exec(sql: string): void
    prepare(sql: string): StatementSync
    close(): void
  }
}
