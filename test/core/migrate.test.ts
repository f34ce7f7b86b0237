import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, it } from "node:test"
import { migrate, type SqlShape } from "../../core/index.ts"
import { openNodeStore } from "../../runtime/node-store.ts"

const STEPS = [
  "CREATE TABLE first_table (id INTEGER PRIMARY KEY)",
  "CREATE TABLE second_table (id INTEGER PRIMARY KEY); CREATE INDEX second_by_id ON second_table (id)"
]

describe("migrate", () => {
  it("applies each step once, and nothing on a store already up to date", () => {
    const sql = openNodeStore(":memory:")
    migrate(sql, "owner", STEPS.slice(0, 1))
    migrate(sql, "owner", STEPS)
    migrate(sql, "owner", STEPS)
    const tables = sql.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%_table' ORDER BY name").all<{ name: string }>()
    assert.deepEqual(tables.map((t) => t.name), ["first_table", "second_table"])
    assert.equal(sql.prepare("SELECT version FROM schema_versions WHERE owner = 'owner'").get<{ version: number }>()!.version, 2)
  })

  it("applies nothing twice when another process migrates between its check and its transaction", () => {
    const dir = mkdtempSync(join(tmpdir(), "relay-migrate-"))
    try {
      const file = join(dir, "relay.db")
      const mine = openNodeStore(file)
      const other = openNodeStore(file)
      const racing: SqlShape = {
        ...mine,
        transaction: (fn) => {
          migrate(other, "owner", STEPS)
          return mine.transaction(fn)
        }
      }
      migrate(racing, "owner", STEPS)
      assert.equal(mine.prepare("SELECT version FROM schema_versions WHERE owner = 'owner'").get<{ version: number }>()!.version, 2)
      mine.close()
      other.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
