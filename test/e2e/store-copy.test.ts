import assert from "node:assert/strict"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { PG_SCHEMAS } from "../../config/index.ts"
import { migratePg, type SqlShape } from "../../core/index.ts"
import { openNodeStore } from "../../runtime/node-store.ts"
import { connectPostgres, pgMigrationSql, type Postgres } from "../../runtime/postgres.ts"
import { chat, createAccount } from "../helpers/accounts.ts"
import { startPostgres, type TestPostgres } from "../helpers/databases.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { ROOT, startRelay } from "../helpers/relay.ts"

/**
 * `relay store copy`: a relay on SQLite (under the test runtime) serves and charges, stops, and
 * the command moves its store into a real PostgreSQL, row for row, checking the totals.
 */

const WEB_CONFIG = join(ROOT, "test/fixtures/relay.web-config.ts")
const BIN = join(ROOT, "bin/relay.js")
const POOL_KEY = "sk-copy-pool-1111"
const OWN_KEY = "sk-copy-own-2222"

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const relayCommand = (dataDir: string, args: ReadonlyArray<string>): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: tmpdir(), env: { PATH: process.env.PATH, HOME: process.env.HOME, RELAY_DATA_DIR: dataDir, RELAY_CONFIG: WEB_CONFIG }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })
    )
  })

/** A cell as text, whatever the driver made of it: integers of any width, bytes, floats. */
const cell = (value: unknown): string =>
  value instanceof Uint8Array ? `bytes:${Buffer.from(value).toString("hex")}` : value === null ? "null" : String(value)

/** Every row of `table`, in a stable order, each cell as text. */
const sqliteRows = (sql: SqlShape, table: string, columns: ReadonlyArray<string>) =>
  sql.prepare(`SELECT ${columns.join(", ")} FROM ${table} ORDER BY ${columns.join(", ")}`, { bigints: true })
    .all<Record<string, unknown>>()
    .map((row) => columns.map((column) => cell(row[column])))

const pgRows = async (sql: Postgres, table: string, columns: ReadonlyArray<string>) =>
  [...await sql.unsafe(`SELECT ${columns.join(", ")} FROM ${table} ORDER BY ${columns.join(", ")}`)]
    .map((row) => columns.map((column) => cell((row as Record<string, unknown>)[column])))

const COPIED_TABLES = ["accounts", "api_keys", "balances", "ledger", "usage_records", "byok_credentials", "stored_responses"]

describe("relay store copy", () => {
  let server: TestPostgres
  let mock: MockOpenAI
  let upstream: string
  let dataDir: string
  const clients: Array<Postgres> = []
  const connect = (url: string) => {
    const sql = connectPostgres(url)
    clients.push(sql)
    return sql
  }
  const copy = (...args: Array<string>) => relayCommand(dataDir, ["store", "copy", ...args])

  before(async () => {
    server = await startPostgres()
    mock = new MockOpenAI({ [POOL_KEY]: "ok", [OWN_KEY]: "ok" })
    upstream = await mock.start()
    dataDir = mkdtempSync(join(tmpdir(), "relay-copy-"))

    // A single node's life: accounts, credits, keys (one revoked), charged answers, a BYOK key.
    const relay = await startRelay({ config: WEB_CONFIG, dataDir, env: { OPENAI_BASE_URL: upstream, OPENAI_API_KEY: POOL_KEY } })
    try {
      for (const [name, usd] of [["copy-a", "5"], ["copy-b", "0.75"]] as const) {
        const { account, key } = await createAccount(relay, { name })
        assert.equal((await relay.admin("POST", `/admin/accounts/${account.id}/credits`, { amount: usd })).status, 200)
        for (let i = 0; i < 4; i++) assert.equal((await chat(relay, key, { model: "gpt-4o-mini", max_tokens: 50 })).status, 200)
        const spare = await relay.admin("POST", `/admin/accounts/${account.id}/keys`, {})
        const { id } = (await spare.json()) as { id: string }
        assert.equal((await relay.admin("DELETE", `/admin/keys/${id}`)).status, 204)
      }
      const put = await fetch(`${relay.baseURL}/account/byok/openai`, {
        method: "PUT",
        headers: { authorization: `Bearer ${relay.firstRunKey}`, "content-type": "application/json" },
        body: JSON.stringify({ api_key: OWN_KEY })
      })
      assert.equal(put.status, 200, await put.clone().text())
    } finally {
      assert.equal(await relay.stop(), 0)
    }
  })

  after(async () => {
    await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })))
    await mock.stop()
    await server.stop()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("moves every row into PostgreSQL exactly, checks the totals, and refuses a database that holds rows", async () => {
    const url = await server.createDatabase("copy_target")
    const run = await copy("--to", url, "--json")
    assert.equal(run.code, 0, run.stderr)
    const report = JSON.parse(run.stdout) as { source: { rows: Record<string, number>; money: Record<string, string> }; target: unknown }
    assert.deepEqual(report.target, report.source)
    assert.equal(report.source.rows.accounts, 3, "the first-run account and two more")
    assert.equal(report.source.rows.api_keys, 5)
    assert.equal(report.source.rows.usage_records, 8)
    assert.equal(report.source.rows.byok_credentials, 1)
    assert.notEqual(report.source.money["usage_records.cost_nano"], "0", "the answers were charged")

    // Row for row, cell for cell: keys only as hashes, credentials still sealed.
    const store = openNodeStore(join(dataDir, "relay.db"))
    const target = connect(url)
    try {
      for (const table of COPIED_TABLES) {
        const columns = store.prepare(`SELECT name FROM pragma_table_info(?)`).all<{ name: string }>(table).map((row) => row.name)
        assert.ok(columns.length > 0, table)
        assert.deepEqual(await pgRows(target, table, columns), sqliteRows(store, table, columns), table)
      }
    } finally {
      store.close()
    }
    const everything = (await Promise.all(COPIED_TABLES.map((table) => target.unsafe(`SELECT * FROM ${table}`))))
      .flatMap((rows) => [...rows].flatMap((row) => Object.values(row).map((value) => value instanceof Uint8Array ? Buffer.from(value).toString("latin1") : cell(value))))
      .join("\n")
    assert.ok(!everything.includes(OWN_KEY), "a BYOK key is never in the clear")
    assert.ok(!/sk-rr-[0-9A-Za-z]{40}/.test(everything), "a relay key is kept only as its hash")

    // New rows continue after the copied ids.
    const [next] = await target`INSERT INTO ledger (account_id, kind, amount_nano, created_at) VALUES ('acct_x', 'credit', 1, 0) RETURNING id`
    const [top] = await target`SELECT max(id) AS id FROM ledger WHERE account_id <> 'acct_x'`
    assert.ok(next!.id > top!.id)
    await target`DELETE FROM ledger WHERE account_id = 'acct_x'`

    const again = await copy("--to", url)
    assert.equal(again.code, 1)
    assert.match(again.stderr, /already holds rows in accounts, api_keys, balances, ledger, key_spend, usage_records, byok_credentials, audit_log: .*--replace/)
    const replaced = await copy("--to", url, "--replace")
    assert.equal(replaced.code, 0, replaced.stderr)
    assert.match(replaced.stdout, /the totals match/)
    assert.match(replaced.stdout, /usage_records rows +8 +8/)
    assert.match(replaced.stdout, /sum of balances\.balance_nano +(\d+\.\d{9}) USD +\1 USD/)
  })

  it("commits nothing and exits 1 when the copied totals differ", async () => {
    const url = await server.createDatabase("copy_mismatch")
    const target = connect(url)
    await migratePg(pgMigrationSql(target), PG_SCHEMAS)
    // A database that alters what it is given: the check must catch it.
    await target.unsafe(`
      CREATE FUNCTION bump() RETURNS trigger AS $$ BEGIN NEW.cost_nano := NEW.cost_nano + 1; RETURN NEW; END $$ LANGUAGE plpgsql;
      CREATE TRIGGER bump BEFORE INSERT ON usage_records FOR EACH ROW EXECUTE FUNCTION bump()`)
    const run = await copy("--to", url)
    assert.equal(run.code, 1)
    assert.match(run.stderr, /the copied totals differ from the store's; nothing was committed/)
    assert.match(run.stderr, /sum of usage_records\.cost_nano +(\S+) USD +(?!\1 )\S+ USD/)
    const [rows] = await target`SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM usage_records) AS n`
    assert.equal(rows!.n, 0n)
  })

  it("refuses while a relay serves the store, and refuses a target that is not PostgreSQL", async () => {
    const url = await server.createDatabase("copy_busy")
    const relay = await startRelay({ config: WEB_CONFIG, dataDir, env: { OPENAI_BASE_URL: upstream, OPENAI_API_KEY: POOL_KEY } })
    try {
      const busy = await copy("--to", url)
      assert.equal(busy.code, 1)
      assert.match(busy.stderr, /another relay is serving from the store/)
    } finally {
      await relay.stop()
    }
    const [wrong, missing] = await Promise.all([copy("--to", "mysql://root@localhost/db"), copy()])
    assert.equal(wrong.code, 2)
    assert.match(wrong.stderr, /--to must be a postgres:\/\/ URL/)
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /--to URL is required/)
    // A relay killed with charges in its journal: the store may lack them, so it is not copied.
    const journal = join(dataDir, "relay.db.charges")
    writeFileSync(journal, "{\"seq\":1}\n")
    try {
      const crashed = await copy("--to", url)
      assert.equal(crashed.code, 1)
      assert.match(crashed.stderr, /the charge journal beside the store holds charges/)
    } finally {
      unlinkSync(journal)
    }
  })
})
