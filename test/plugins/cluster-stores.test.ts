import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import { Cause, Context, Effect, Exit, Layer, Scope } from "effect"
import { Redis } from "ioredis"
import { PG_SCHEMAS } from "../../config/index.ts"
import { Accounts, emptyUsage, Ledger, type LedgerShape, Log, migratePg, query, RateWindows, type Reservation, StoreHealth, StoreHealthState, type UsageRecord } from "../../core/index.ts"
import { postgresBilling } from "../../plugins/billing/index.ts"
import { postgresAccounts } from "../../plugins/keys/index.ts"
import { redisRateWindows } from "../../plugins/limiter/index.ts"
import { connectPostgres, pgMigrationSql, type Postgres } from "../../runtime/postgres.ts"
import { freePort, startPostgres, startRedis, type TestPostgres, type TestServer } from "../helpers/databases.ts"
import { startTripCounter } from "../helpers/trip-counter.ts"

/**
 * What the shared stores promise beyond each port's contract: several nodes on one PostgreSQL
 * and one Redis act as one relay, a dead node's holds are freed by the others, a database that
 * refuses writes loses no charge and doubles none, and no error names a credential.
 */

let postgres: TestPostgres
let redisServer: TestServer
let admin: Postgres
const clients: Array<Postgres> = []
const scopes: Array<Scope.Closeable> = []
let databases = 0

const silent = { debug() {}, info() {}, warn() {}, error() {}, request() {} }
const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
const isReservation = (value: unknown): value is Reservation => typeof value === "object" && value !== null && "account" in value

/** A request's usage record on account "a", told its charge. */
const usageRecord = (requestId: string) => (charged: bigint): UsageRecord => ({
  requestId,
  accountId: "a",
  keyId: undefined,
  createdAt: Date.now(),
  surface: "v1.chat.completions",
  model: "m",
  provider: undefined,
  byok: false,
  status: 200,
  usage: { ...emptyUsage, promptTokens: 1, completionTokens: 1, source: "upstream" },
  cost: charged,
  latencyMs: 1,
  ttfbMs: undefined
})

const connect = (url: string) => {
  const sql = connectPostgres(url)
  clients.push(sql)
  return sql
}

const freshDatabase = async () => {
  const name = `cluster_${++databases}`
  const url = await postgres.createDatabase(name)
  await migratePg(pgMigrationSql(connect(url)), PG_SCHEMAS)
  return { name, url }
}

/** One relay node's ledger on the database at `url`: its own client, health and lease, living until `stop`. */
const ledgerNode = async (url: string, leaseMs = 60_000) => {
  const health = new StoreHealthState()
  const scope = await run(Scope.make())
  scopes.push(scope)
  const services = Layer.mergeAll(Layer.succeed(Log, silent), Layer.succeed(StoreHealth, health))
  const sql = connect(url)
  const built = await run(Layer.buildWithScope(Layer.provide(postgresBilling(sql, { leaseMs }), services), scope))
  const ledger: LedgerShape = Context.get(built, Ledger)
  return {
    ledger,
    health,
    stop: () => run(Scope.close(scope, Exit.void)),
    /** Dies as a killed process would: its connections drop, and it frees nothing itself. */
    crash: async () => {
      await sql.end({ timeout: 0 })
      await run(Scope.close(scope, Exit.void))
    }
  }
}

/** Settles `hold` for `cost` and waits until the charge is written; answers the amount charged. */
const settleWritten = async (ledger: LedgerShape, hold: Reservation, cost: bigint, requestId: string) =>
  run((await run(ledger.settle({ account: "a", reservation: hold, cost, requestId, record: usageRecord(requestId) }))).committed)

/** Account "a"'s books: its balance row, its reservation rows, and the ledger's and usage records' sums. */
const booksOf = async (sql: Postgres) => {
  const [row] = await sql<Array<{ balance: bigint; reserved: bigint; rows: number; ledger: bigint; usage: bigint }>>`
    SELECT (SELECT balance_nano FROM balances WHERE account_id = 'a') AS balance,
           (SELECT reserved_nano FROM balances WHERE account_id = 'a') AS reserved,
           (SELECT COUNT(*)::int FROM reservations WHERE account_id = 'a') AS rows,
           (SELECT COALESCE(SUM(CASE kind WHEN 'credit' THEN amount_nano ELSE -amount_nano END), 0) FROM ledger WHERE account_id = 'a')::bigint AS ledger,
           (SELECT COALESCE(SUM(cost_nano), 0) FROM usage_records WHERE account_id = 'a')::bigint AS usage`
  return { ...row! }
}

/** Polls `check` until it holds (a store's background work is awaited, never timed). */
const eventually = async (check: () => Promise<boolean>) => {
  for (let i = 0; i < 200; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.fail("the condition never held")
}

/** Sets whether new sessions on database `name` may write, and ends the open ones so the pools reconnect. */
const setReadOnly = async (name: string, readOnly: boolean) => {
  await admin.unsafe(`ALTER DATABASE ${name} SET default_transaction_read_only = ${readOnly ? "on" : "off"}`)
  const ended = (await admin`SELECT pid FROM pg_stat_activity WHERE datname = ${name}`).map((row) => row.pid as number)
  if (ended.length > 0) await admin`SELECT pg_terminate_backend(pid) FROM unnest(${ended}::int[]) AS pid`
  // Termination is signalled, not awaited: wait until those sessions are gone. Not until every
  // session is: a ledger retrying its kept charge opens new ones meanwhile.
  await eventually(async () => ended.length === 0 || (await admin`SELECT 1 FROM pg_stat_activity WHERE pid IN ${admin(ended)}`).length === 0)
}

before(async () => {
  postgres = await startPostgres()
  redisServer = await startRedis()
  admin = connect(postgres.url)
})

after(async () => {
  for (const scope of scopes) await run(Scope.close(scope, Exit.void))
  await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })))
  await Promise.all([postgres.stop(), redisServer.stop()])
})

describe("several nodes on one PostgreSQL", () => {
  it("reserve concurrently through three nodes without overdrawing, and the balance equals the ledger after their settles", async () => {
    const { url } = await freshDatabase()
    const nodes = await Promise.all([ledgerNode(url), ledgerNode(url), ledgerNode(url)])
    await run(nodes[0]!.ledger.credit("a", 1_000n, "top-up"))
    const attempts = Array.from({ length: 30 }, (_, i) => run(nodes[i % 3]!.ledger.reserve("a", 100n)))
    const holds = (await Promise.all(attempts)).filter(isReservation)
    assert.equal(holds.length, 10)
    assert.deepEqual(await run(nodes[1]!.ledger.read("a")), { balance: 1_000n, reserved: 1_000n })

    const written = await Promise.all(holds.map(async (hold, i) => {
      const node = nodes[i % 3]!.ledger
      const settled = await run(node.settle({
        account: "a",
        reservation: hold,
        cost: 37n,
        requestId: `req_${i}`,
        record: usageRecord(`req_${i}`)
      }))
      return run(settled.committed)
    }))
    assert.deepEqual(written, Array(10).fill(37n))
    assert.deepEqual(await run(nodes[2]!.ledger.read("a")), { balance: 630n, reserved: 0n })
    const sql = connect(url)
    const [sums] = await sql<Array<{ ledger: bigint; usage: bigint }>>`
      SELECT (SELECT SUM(CASE kind WHEN 'credit' THEN amount_nano ELSE -amount_nano END) FROM ledger)::bigint AS ledger,
             (SELECT SUM(cost_nano) FROM usage_records)::bigint AS usage`
    assert.deepEqual({ ...sums }, { ledger: 630n, usage: 370n })
  })

  it("frees a dead node's holds once its lease lapses, while a live node's stay held", async () => {
    const { url } = await freshDatabase()
    const dying = await ledgerNode(url, 600)
    // The living node's lease leaves room for a busy machine's late renewal (every 500 ms).
    const living = await ledgerNode(url, 1_500)
    await run(living.ledger.credit("a", 100n, null))
    assert.ok(isReservation(await run(dying.ledger.reserve("a", 60n))))
    assert.ok(isReservation(await run(living.ledger.reserve("a", 30n))))
    await dying.stop()
    await eventually(async () => (await run(living.ledger.read("a"))).reserved === 30n)
    // The living node's hold outlasts several leases: it is renewed.
    await new Promise((resolve) => setTimeout(resolve, 4_000))
    assert.deepEqual(await run(living.ledger.read("a")), { balance: 100n, reserved: 30n })
    assert.ok(isReservation(await run(living.ledger.reserve("a", 70n))))
  })

  it("keeps a charge the database refuses, says so, and writes it exactly once when it takes writes again", async () => {
    const { name, url } = await freshDatabase()
    const node = await ledgerNode(url)
    await run(node.ledger.credit("a", 1_000n, null))
    const hold = await run(node.ledger.reserve("a", 400n))
    assert.ok(isReservation(hold))
    await setReadOnly(name, true)
    const settled = await run(node.ledger.settle({
      account: "a",
      reservation: hold,
      cost: 250n,
      requestId: "req_kept",
      record: usageRecord("req_kept")
    }))
    const exit = await Effect.runPromiseExit(settled.committed)
    assert.ok(Exit.isFailure(exit))
    assert.equal(node.health.writable, false)
    assert.equal(await run(node.ledger.pending()), 1)
    // Still held while kept: the money cannot be spent twice.
    assert.deepEqual(await run(node.ledger.read("a")), { balance: 1_000n, reserved: 400n })

    await setReadOnly(name, false)
    await eventually(async () => (await run(node.ledger.pending())) === 0)
    assert.equal(node.health.writable, true)
    assert.deepEqual(await run(node.ledger.read("a")), { balance: 750n, reserved: 0n })
    const sql = connect(url)
    assert.deepEqual((await sql`SELECT request_id, cost_nano FROM usage_records`).map((row) => ({ ...row })), [{ request_id: "req_kept", cost_nano: 250n }])
  })

  it("answers an unreachable database with a store refusal that names no password", async () => {
    const url = `postgres://relay:hunter2-secret@127.0.0.1:${await freePort()}/nowhere`
    const accounts = await run(Effect.provide(Accounts, postgresAccounts(connect(url))))
    const exit = await Effect.runPromiseExit(accounts.account("acct_x"))
    assert.ok(Exit.isFailure(exit))
    const shown = JSON.stringify(exit.cause, (_, value) => (value instanceof Error ? `${value.name}: ${value.message}` : value))
    assert.match(shown, /the shared store cannot be reached/)
    assert.doesNotMatch(shown, /hunter2/)
  })

  it("cancels a statement that runs past the client's bound, as a store refusal", async () => {
    const { url } = await freshDatabase()
    const sql = connectPostgres(url, { statementTimeoutMs: 50 })
    clients.push(sql)
    const exit = await Effect.runPromiseExit(query(() => sql`SELECT pg_sleep(5)`))
    assert.ok(Exit.isFailure(exit))
    assert.match(String(Cause.squash(exit.cause)), /a PostgreSQL statement timed out/)
  })
})

describe("balance leases", () => {
  it("serves a node's reservations from its slice of the balance with no round trip while the balance is far above them, and gives an idle slice back", async () => {
    const { url } = await freshDatabase()
    const counter = await startTripCounter(postgres.port)
    try {
      const node = await ledgerNode(url.replace(`:${postgres.port}/`, `:${counter.port}/`))
      await run(node.ledger.credit("a", 1_000_000n, null))
      const before = counter.trips()
      const holds: Array<Reservation> = []
      for (let i = 0; i < 16; i++) {
        const hold = await run(node.ledger.reserve("a", 100n))
        assert.ok(isReservation(hold))
        holds.push(hold)
      }
      // One statement set a slice of sixteen such reservations aside (in two round trips when it
      // is the first on its connection: the client prepares it in one); the others came from it.
      const taken = counter.trips() - before
      assert.ok(taken <= 2, `${taken} round trips for 16 reservations`)
      const sql = connect(url)
      assert.deepEqual(await booksOf(sql), { balance: 1_000_000n, reserved: 1_600n, rows: 1, ledger: 1_000_000n, usage: 0n })
      // A hold let go returns to the slice, and serves the next reservation.
      await run(node.ledger.release(holds.pop()!))
      const again = await run(node.ledger.reserve("a", 100n))
      assert.ok(isReservation(again))
      holds.push(again)
      assert.equal(counter.trips() - before, taken)

      const charged = await Promise.all(holds.map((hold, i) => settleWritten(node.ledger, hold, 37n, `req_${i}`)))
      assert.deepEqual(charged, Array(16).fill(37n))
      // The charges left the slice; the rest of each hold stays in it until it goes back.
      assert.deepEqual(await booksOf(sql), { balance: 1_000_000n - 592n, reserved: 1_600n - 592n, rows: 1, ledger: 1_000_000n - 592n, usage: 592n })
      await eventually(async () => (await booksOf(sql)).rows === 0)
      assert.deepEqual(await booksOf(sql), { balance: 1_000_000n - 592n, reserved: 0n, rows: 0, ledger: 1_000_000n - 592n, usage: 592n })
    } finally {
      await counter.stop()
    }
  })

  it("admits exactly what the balance covers when three nodes reserve from slices at once, and charges each to the nano-USD", async () => {
    const { url } = await freshDatabase()
    const nodes = await Promise.all([ledgerNode(url), ledgerNode(url), ledgerNode(url)])
    // Far above a reservation of 100 at first (slices are taken), then near the floor (rows).
    await run(nodes[0]!.ledger.credit("a", 20_000n, null))
    const attempts = await Promise.all(Array.from({ length: 300 }, async (_, i) => ({ node: nodes[i % 3]!, held: await run(nodes[i % 3]!.ledger.reserve("a", 100n)) })))
    const holds = attempts.filter(({ held }) => isReservation(held))
    assert.equal(holds.length, 200)
    const sql = connect(url)
    const held = await booksOf(sql)
    assert.equal(held.reserved, 20_000n)
    assert.ok(held.rows < 200, `${held.rows} reservation rows: slices served some`)

    const charged = await Promise.all(holds.map(({ node, held }, i) => settleWritten(node.ledger, held as Reservation, 37n, `req_${i}`)))
    assert.deepEqual(charged, Array(200).fill(37n))
    await eventually(async () => (await booksOf(sql)).rows === 0)
    assert.deepEqual(await booksOf(sql), { balance: 20_000n - 7_400n, reserved: 0n, rows: 0, ledger: 20_000n - 7_400n, usage: 7_400n })
  })

  it("gives a slice's free part back when it no longer covers a reservation, so the balance admits all it covers", async () => {
    const { url } = await freshDatabase()
    const node = await ledgerNode(url)
    // Far above a reservation of 100 (128 of them and more): a slice of 1,600 is set aside.
    await run(node.ledger.credit("a", 14_400n, null))
    const small = await run(node.ledger.reserve("a", 100n))
    assert.ok(isReservation(small))
    const sql = connect(url)
    assert.equal((await booksOf(sql)).reserved, 1_600n)
    // All the rest: 12,800 outside the slice and 1,500 free in it.
    const rest = await run(node.ledger.reserve("a", 14_300n))
    assert.ok(isReservation(rest), "the slice's free part went back, and the reservation took it")
    assert.equal((await booksOf(sql)).reserved, 14_400n)
    assert.deepEqual(await run(node.ledger.reserve("a", 1n)), { balance: 14_400n, reserved: 14_400n })
    assert.equal(await settleWritten(node.ledger, small, 100n, "req_small"), 100n)
    assert.equal(await settleWritten(node.ledger, rest, 14_300n, "req_rest"), 14_300n)
    await eventually(async () => (await booksOf(sql)).rows === 0)
    assert.deepEqual(await booksOf(sql), { balance: 0n, reserved: 0n, rows: 0, ledger: 0n, usage: 14_400n })
  })

  it("stops serving from a slice whose row the other nodes freed, and sets a new one aside", async () => {
    const { url } = await freshDatabase()
    const node = await ledgerNode(url, 600)
    await run(node.ledger.credit("a", 1_000_000n, null))
    /** Reserves 100 and lets it go at once. */
    const reserveAndRelease = async () => {
      const hold = await run(node.ledger.reserve("a", 100n))
      assert.ok(isReservation(hold))
      await run(node.ledger.release(hold))
    }
    await reserveAndRelease()
    const sql = connect(url)
    assert.equal((await booksOf(sql)).reserved, 1_600n)
    // As the others do with the rows of a node whose lease lapsed (one that could not renew).
    await sql`DELETE FROM reservations`
    await sql`UPDATE balances SET reserved_nano = 0`
    // Its next renewal finds the row gone: the slice hands out nothing more, and the next
    // reservation holds money in PostgreSQL again.
    await eventually(async () => {
      await reserveAndRelease()
      return (await booksOf(sql)).reserved === 1_600n
    })
  })

  it("gives a stopping node's slice back at once, and frees a crashed node's once its lease lapses", async () => {
    const { url } = await freshDatabase()
    const sql = connect(url)
    const living = await ledgerNode(url, 1_500)
    await run(living.ledger.credit("a", 1_000_000n, null))
    const stopping = await ledgerNode(url)
    assert.ok(isReservation(await run(stopping.ledger.reserve("a", 100n))))
    assert.equal((await booksOf(sql)).reserved, 1_600n)
    await stopping.stop()
    assert.deepEqual(await booksOf(sql), { balance: 1_000_000n, reserved: 0n, rows: 0, ledger: 1_000_000n, usage: 0n })

    const dying = await ledgerNode(url, 600)
    assert.ok(isReservation(await run(dying.ledger.reserve("a", 100n))))
    await dying.crash()
    // Nothing freed by the crash itself: the slice stays held until its lease lapses.
    assert.equal((await booksOf(sql)).reserved, 1_600n)
    await eventually(async () => (await booksOf(sql)).rows === 0)
    assert.deepEqual(await booksOf(sql), { balance: 1_000_000n, reserved: 0n, rows: 0, ledger: 1_000_000n, usage: 0n })
  })
})

describe("several nodes on one Redis", () => {
  it("admit concurrently through three clients and never pass the RPM together", async () => {
    const nodes = [new Redis(redisServer.url), new Redis(redisServer.url), new Redis(redisServer.url)]
    try {
      const windows = await Promise.all(nodes.map((redis) => run(Effect.provide(RateWindows, Layer.provide(redisRateWindows(redis), Layer.succeed(Log, silent))))))
      const now = Date.now()
      const admissions = await Promise.all(Array.from({ length: 30 }, (_, i) => run(windows[i % 3]!.admit("shared", { rpm: 7, tpm: 1_000_000 }, 1, now))))
      assert.equal(admissions.filter((admission) => admission.admitted).length, 7)
      // Each node sees the same window.
      for (const window of windows) assert.equal((await run(window.peek("shared", { rpm: 7, tpm: 1_000_000 }, now))).requestsRemaining, 0)
    } finally {
      for (const redis of nodes) redis.disconnect()
    }
  })

  it("sends a settle's token correction with the node's next admission, in its round trip, or alone within a bound", async () => {
    const counter = await startTripCounter(redisServer.port)
    const counted = new Redis(`redis://127.0.0.1:${counter.port}`)
    const other = new Redis(redisServer.url)
    try {
      const [node, peer] = await Promise.all([counted, other].map((redis) => run(Effect.provide(RateWindows, Layer.provide(redisRateWindows(redis), Layer.succeed(Log, silent))))))
      const limits = { rpm: 100, tpm: 1_000 }
      const now = Date.now()
      // Warm: the connection is open and the script loaded.
      await run(node!.peek("corrected", limits, now))
      const before = counter.trips()
      const first = await run(node!.admit("corrected", limits, 500, now))
      assert.ok(first.admitted)
      await run(node!.settle("corrected", first.ticket, 100, now))
      // The correction (500 reserved, 100 used) is counted before this admission looks.
      const second = await run(node!.admit("corrected", limits, 500, now))
      assert.ok(second.admitted)
      assert.equal(second.state.tokensRemaining, 1_000 - 100 - 500)
      assert.equal(counter.trips() - before, 2)
      // With no admission to ride with, it goes alone, and the other nodes see it.
      await run(node!.settle("corrected", second.ticket, 0, now))
      await eventually(async () => (await run(peer!.peek("corrected", limits, now))).tokensRemaining === 900)
    } finally {
      counted.disconnect()
      other.disconnect()
      await counter.stop()
    }
  })

  it("answers an unreachable Redis with a store refusal that names no password", async () => {
    const scope = await run(Scope.make())
    scopes.push(scope)
    const logged: Array<string> = []
    const log = { ...silent, error: (fields: object, message?: string) => void logged.push(`${message} ${JSON.stringify(fields)}`) }
    const windows = Layer.provide(redisRateWindows(`redis://:hunter2-secret@127.0.0.1:${await freePort()}`), Layer.succeed(Log, log))
    const built = await run(Layer.buildWithScope(windows, scope))
    const exit = await Effect.runPromiseExit(Context.get(built, RateWindows).admit("a", { rpm: 1, tpm: 1 }, 1, Date.now()))
    assert.ok(Exit.isFailure(exit))
    const shown = String(Cause.squash(exit.cause))
    assert.match(shown, /the shared store cannot be reached \(Redis did not answer\)/)
    assert.doesNotMatch(shown, /hunter2/)
    // Said once, loudly, and without the URL.
    assert.equal(logged.length, 1)
    assert.match(logged[0]!, /Redis cannot be reached/)
    assert.doesNotMatch(logged[0]!, /hunter2|127\.0\.0\.1/)
  })
})
