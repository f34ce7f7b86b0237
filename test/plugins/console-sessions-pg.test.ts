import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import { Effect, Layer } from "effect"
import { PG_SCHEMAS } from "../../config/index.ts"
import { ConsoleSessions, type ConsoleSessionsShape, Keyring, type KeyringShape, migratePg } from "../../core/index.ts"
import { postgresConsoleSessions } from "../../plugins/console/index.ts"
import { connectPostgres, pgMigrationSql, type Postgres } from "../../runtime/postgres.ts"
import { startPostgres, type TestPostgres } from "../helpers/databases.ts"

/**
 * What console sessions in PostgreSQL promise beyond the port's contract: a session made
 * through one node is found through another, its flash is handed out once across them, and
 * the table holds neither a usable session id nor a key just issued.
 */

let postgres: TestPostgres
const clients: Array<Postgres> = []

const run = <A>(effect: Effect.Effect<A>) => Effect.runPromise(effect)

const keyring = async (): Promise<KeyringShape> => {
  const key = await crypto.subtle.importKey("raw", crypto.getRandomValues(new Uint8Array(32)), { name: "AES-GCM" }, false, ["encrypt", "decrypt"])
  const current = { id: "test-key", key }
  return { current, find: (id) => (id === current.id ? current : undefined), rotate: async () => false, retire: async () => undefined }
}

/** A node: its own pool on the database, the shared master key. */
const node = (url: string, ring: KeyringShape): Promise<ConsoleSessionsShape> => {
  const sql = connectPostgres(url)
  clients.push(sql)
  const layer = postgresConsoleSessions(sql, { ttlMs: 60_000, anonymousTtlMs: 10_000, maxSessions: 100, maxSignedOutPerAddress: 3, now: Date.now })
  return Effect.runPromise(Effect.provide(ConsoleSessions, Layer.provide(layer, Layer.succeed(Keyring, ring))))
}

before(async () => {
  postgres = await startPostgres()
})

after(async () => {
  await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })))
  await postgres.stop()
})

describe("console sessions in PostgreSQL", () => {
  it("work across nodes, hand a flash out once, and keep neither the session id nor an issued key in the clear", async () => {
    const url = await postgres.createDatabase("sessions_two_nodes")
    const inspect = connectPostgres(url)
    clients.push(inspect)
    await migratePg(pgMigrationSql(inspect), PG_SCHEMAS)
    const ring = await keyring()
    const [a, b] = await Promise.all([node(url, ring), node(url, ring)])

    const issuedKey = { key: "sk-rr-JustIssuedAndSecret0123456789", prefix: "sk-rr-Just", name: "ci" }
    const session = await run(a.create({ kind: "user", accountId: "acct_1", keyId: "key_1" }, "192.0.2.7", { issuedKey }))
    const seen = await run(b.get(session.id))
    assert.deepEqual(seen?.principal, { kind: "user", accountId: "acct_1", keyId: "key_1" })
    assert.equal(seen?.csrf, session.csrf)

    const rows = await inspect`SELECT * FROM console_sessions`
    const stored = JSON.stringify(rows.map((row) => Object.values(row).map((value) => value instanceof Uint8Array ? Buffer.from(value).toString("latin1") : String(value))))
    assert.ok(!stored.includes(issuedKey.key), "the issued key is sealed")
    assert.ok(!stored.includes(session.id), "the session id is kept only as a hash")

    const taken = await Promise.all([run(a.takeFlash(session.id)), run(b.takeFlash(session.id))])
    assert.deepEqual(taken.filter((flash) => flash !== undefined), [{ issuedKey }], "one node hands the flash out, the other gets nothing")

    await run(b.remove(session.id))
    assert.equal(await run(a.get(session.id)), undefined)
  })

  it("bound the signed-out sessions of one address, across nodes", async () => {
    const url = await postgres.createDatabase("sessions_bounds")
    const inspect = connectPostgres(url)
    clients.push(inspect)
    await migratePg(pgMigrationSql(inspect), PG_SCHEMAS)
    const ring = await keyring()
    const [a, b] = await Promise.all([node(url, ring), node(url, ring)])
    const made = []
    for (let i = 0; i < 6; i++) made.push(await run((i % 2 === 0 ? a : b).create(undefined, "198.51.100.9")))
    const other = await run(a.create(undefined, "198.51.100.10"))
    const live = await Promise.all(made.map(async (session) => (await run(b.get(session.id))) !== undefined))
    assert.deepEqual(live, [false, false, false, true, true, true], "the address keeps its newest three")
    assert.notEqual(await run(b.get(other.id)), undefined, "another address keeps its own")
  })
})
