import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import { PG_SCHEMAS } from "../../config/index.ts"
import { migratePg, type PgSchema } from "../../core/index.ts"
import { connectPostgres, pgMigrationSql, type Postgres } from "../../runtime/postgres.ts"
import { startPostgres, type TestPostgres } from "../helpers/databases.ts"

/**
 * Versioned PostgreSQL migrations against a real server: several nodes starting together on
 * one database apply each step exactly once, and a node that starts later changes nothing.
 */

/** A schema whose steps leave a trace: a row per application of its second step. */
const COUNTED: PgSchema = {
  owner: "test.counted",
  tables: ["applied"],
  steps: [
    "CREATE TABLE applied (step INTEGER NOT NULL)",
    "INSERT INTO applied (step) VALUES (2)"
  ]
}

describe("PostgreSQL migrations", () => {
  let server: TestPostgres
  const clients: Array<Postgres> = []
  /** The rows a query answers, as plain objects. */
  const rows = async (query: Promise<ReadonlyArray<object>>) => [...await query].map((row) => ({ ...row }))
  const connect = (url: string) => {
    const sql = connectPostgres(url)
    clients.push(sql)
    return sql
  }

  before(async () => {
    server = await startPostgres()
  })

  after(async () => {
    await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })))
    await server.stop()
  })

  it("applies every step exactly once when three nodes migrate one fresh database at once", async () => {
    const url = await server.createDatabase("three_nodes")
    const nodes = [connect(url), connect(url), connect(url)]
    const schemas = [...PG_SCHEMAS, COUNTED]
    await Promise.all(nodes.map((sql) => migratePg(pgMigrationSql(sql), schemas)))

    const sql = nodes[0]!
    assert.deepEqual(await rows(sql`SELECT step FROM applied`), [{ step: 2 }])
    assert.deepEqual(
      await rows(sql`SELECT owner, version FROM schema_versions ORDER BY owner`),
      schemas.map((schema) => ({ owner: schema.owner, version: schema.steps.length })).sort((a, b) => a.owner.localeCompare(b.owner))
    )
    const tables = await sql<Array<{ table_name: string }>>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`
    assert.deepEqual(tables.map((row) => row.table_name), [...schemas.flatMap((schema) => schema.tables), "schema_versions"].sort())

    // A node that starts later finds the schema current: nothing runs again.
    await migratePg(pgMigrationSql(connect(url)), schemas)
    assert.deepEqual(await rows(sql`SELECT step FROM applied`), [{ step: 2 }])
  })

  it("applies only the steps a database lacks, and reads money back as exact bigint", async () => {
    const url = await server.createDatabase("grows")
    const sql = connect(url)
    await migratePg(pgMigrationSql(sql), [{ ...COUNTED, steps: COUNTED.steps.slice(0, 1) }])
    assert.deepEqual(await rows(sql`SELECT step FROM applied`), [])
    await migratePg(pgMigrationSql(sql), [COUNTED])
    assert.deepEqual(await rows(sql`SELECT step FROM applied`), [{ step: 2 }])

    await migratePg(pgMigrationSql(sql), PG_SCHEMAS)
    const nano = 9_007_199_254_740_993_000n
    await sql`INSERT INTO balances (account_id, balance_nano) VALUES ('acct_big', ${nano})`
    const [row] = await sql<Array<{ balance_nano: bigint }>>`SELECT balance_nano FROM balances`
    assert.equal(row!.balance_nano, nano)
  })

  it("rolls back the whole run when a step fails, and refuses a database newer than the relay", async () => {
    const url = await server.createDatabase("failing")
    const sql = connect(url)
    const broken: PgSchema = { owner: "test.broken", tables: ["half"], steps: ["CREATE TABLE half (x INTEGER)", "NOT SQL AT ALL"] }
    await assert.rejects(migratePg(pgMigrationSql(sql), [COUNTED, broken]), /syntax error/)
    const [tables] = await sql<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`
    assert.equal(tables!.n, 0, "no table of the failed run is left")

    await migratePg(pgMigrationSql(sql), [COUNTED])
    await assert.rejects(
      migratePg(pgMigrationSql(sql), [{ ...COUNTED, steps: COUNTED.steps.slice(0, 1) }]),
      /test\.counted tables are at version 2, newer than this relay's 1/
    )
  })
})
