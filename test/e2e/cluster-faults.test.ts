import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import { chat, createAccount } from "../helpers/accounts.ts"
import { booksOf, type Cluster, CLUSTER_CONFIG, startCluster } from "../helpers/cluster.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { eventually, type RelayProcess } from "../helpers/relay.ts"

/**
 * Three relay nodes on one PostgreSQL and one Redis when one of them fails: Redis stalls,
 * PostgreSQL goes away and comes back, a node is killed with `kill -9` under load. Requests
 * that need a missing store get a 503 in their API's shape within a bound, no charge is lost or
 * doubled, and everything recovers by itself.
 */

const SHARED = "sk-faults-shared-000"
/** The reservation lease of the nodes: short, so a dead node's holds are freed within the test. */
const LEASE_SECONDS = 2
/** How long one Redis command may wait; a refused request makes at most two (its admission, its answer's headers). */
const REDIS_TIMEOUT_MS = 500
/** What a request may wait on PostgreSQL: its client's bound on a statement (7 s), with room for a loaded machine. */
const WAIT_BOUND_MS = 10_000
/** What a request may wait on a stalled Redis: two commands' bounds, with room for a loaded machine. */
const REDIS_WAIT_BOUND_MS = 2 * REDIS_TIMEOUT_MS + 3_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A chat completion and a message (Anthropic's API), as raw HTTP, with how long each took. */
const timed = async (answer: Promise<Response>) => {
  const started = performance.now()
  const response = await answer
  const body = await response.text()
  return { status: response.status, body, ms: performance.now() - started, requestId: response.headers.get("x-request-id") }
}
const message = (node: RelayProcess, key: string) =>
  fetch(`${node.url}/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({ model: "gpt-4o-mini", max_tokens: 50, messages: [{ role: "user", content: "hello there" }] })
  })

/** A 503 in the surface's shape: OpenAI's error object, or Anthropic's overloaded error. */
const assertUnavailable = (answer: { status: number; body: string }, surface: "openai" | "anthropic") => {
  assert.equal(answer.status, 503, answer.body)
  const body = JSON.parse(answer.body) as { type?: string; error: { type: string; code?: string } }
  if (surface === "openai") assert.equal(body.error.code, "store_unavailable")
  else {
    assert.equal(body.type, "error")
    assert.equal(body.error.type, "overloaded_error")
  }
}

/** The request ids of usage records, with how many records each has, and ledger charges with no record. */
const recordsOf = async (cluster: Cluster, account: string) => {
  const counts = await cluster.sql<Array<{ request_id: string; n: number }>>`
    SELECT request_id, COUNT(*)::int AS n FROM usage_records WHERE account_id = ${account} GROUP BY request_id`
  const orphans = await cluster.sql<Array<{ id: bigint }>>`
    SELECT ledger.id FROM ledger LEFT JOIN usage_records u ON u.request_id = ledger.request_id AND u.account_id = ledger.account_id
    WHERE ledger.account_id = ${account} AND ledger.kind = 'charge' AND (u.seq IS NULL OR u.cost_nano <> ledger.amount_nano)`
  return { records: new Map(counts.map((row) => [row.request_id, row.n])), orphans: orphans.length }
}

/** The books balance: credits less the usage records, equal to the ledger, nothing held. */
const assertBooksBalance = async (cluster: Cluster, account: string) => {
  const books = await eventually(async () => {
    const books = await booksOf(cluster.sql, account)
    assert.equal(books.holds, 0)
    assert.equal(books.reserved, 0n)
    return books
  }, 15_000)
  assert.ok(books.balance >= 0n)
  assert.equal(books.balance, books.ledger)
  assert.equal(books.balance, books.credits - books.usage)
  return books
}

/** Every answered request id has exactly one usage record, and no charge lacks its record. */
const assertChargedOnce = async (cluster: Cluster, account: string, answered: ReadonlyArray<string>) => {
  const { records, orphans } = await recordsOf(cluster, account)
  for (const id of answered) assert.equal(records.get(id), 1, `request ${id} has one usage record`)
  assert.deepEqual([...records.values()].filter((n) => n !== 1), [], "no request is recorded twice")
  assert.equal(orphans, 0, "every ledger charge has its usage record, of the same amount")
}

describe("three relay nodes when a store or a node fails", () => {
  const mock = new MockOpenAI({ [SHARED]: "ok" })
  let cluster: Cluster

  before(async () => {
    const upstream = await mock.start()
    cluster = await startCluster({
      config: CLUSTER_CONFIG,
      env: { OPENAI_API_KEY: SHARED, OPENAI_BASE_URL: upstream, RELAY_LEASE_SECONDS: String(LEASE_SECONDS), RELAY_REDIS_TIMEOUT_MS: String(REDIS_TIMEOUT_MS) }
    })
  })

  after(async () => {
    await cluster?.stop()
    await mock.stop()
  })

  const funded = async (name: string) => {
    const made = await createAccount(cluster.nodes[0]!, { name, credits: "10.00" })
    assert.equal((await cluster.nodes[1]!.admin("PATCH", `/admin/accounts/${made.account.id}`, { rpm: 10_000, tpm: 10_000_000 })).status, 200)
    return made
  }

  it("answers 503 in each API's shape within a bound while Redis stalls, and recovers by itself", async (t) => {
    const { account, key } = await funded("redis-stall")
    for (const node of cluster.nodes) assert.equal((await chat(node, key, { model: "gpt-4o-mini" })).status, 200)
    // A stalled Redis holds its connections open and answers nothing: the harder case than a
    // refused connection, which fails at once.
    process.kill(cluster.redis.pid, "SIGSTOP")
    try {
      for (const node of cluster.nodes) {
        const [viaChat, viaMessages] = await Promise.all([timed(chat(node, key, { model: "gpt-4o-mini" })), timed(message(node, key))])
        assertUnavailable(viaChat, "openai")
        assertUnavailable(viaMessages, "anthropic")
        assert.ok(viaChat.ms < REDIS_WAIT_BOUND_MS && viaMessages.ms < REDIS_WAIT_BOUND_MS, `waited ${viaChat.ms} and ${viaMessages.ms} ms on Redis`)
        t.diagnostic(`refused after ${Math.round(viaChat.ms)} and ${Math.round(viaMessages.ms)} ms with Redis stalled`)
      }
    } finally {
      process.kill(cluster.redis.pid, "SIGCONT")
    }
    for (const node of cluster.nodes) {
      await eventually(async () => assert.equal((await chat(node, key, { model: "gpt-4o-mini" })).status, 200), 15_000)
    }
    await assertBooksBalance(cluster, account.id)
  })

  it("answers 503 in each API's shape within a bound while PostgreSQL is down, keeps every settled charge, and recovers by itself", async (t) => {
    const { account, key } = await funded("postgres-down")
    const answered: Array<string> = []
    const statuses: Array<number> = []
    let running = true
    // Load on every node, across the outage.
    const worker = async (node: RelayProcess) => {
      while (running) {
        const answer = await timed(chat(node, key, { model: "gpt-4o-mini" }))
        statuses.push(answer.status)
        if (answer.status === 200) answered.push(answer.requestId!)
        else {
          assertUnavailable(answer, "openai")
          assert.ok(answer.ms < WAIT_BOUND_MS, `a request waited ${answer.ms} ms on PostgreSQL`)
          await sleep(20)
        }
      }
    }
    const load = Promise.all(cluster.nodes.map(worker))
    try {
      await eventually(() => assert.ok(answered.length >= 30, "traffic flows"), 15_000)
      await cluster.postgres.down()
      const refusedBefore = statuses.filter((s) => s === 503).length
      for (const node of cluster.nodes) {
        const [viaChat, viaMessages] = await Promise.all([timed(chat(node, key, { model: "gpt-4o-mini" })), timed(message(node, key))])
        assertUnavailable(viaChat, "openai")
        assertUnavailable(viaMessages, "anthropic")
        assert.ok(viaChat.ms < WAIT_BOUND_MS && viaMessages.ms < WAIT_BOUND_MS, `waited ${viaChat.ms} and ${viaMessages.ms} ms on PostgreSQL`)
      }
      await eventually(() => assert.ok(statuses.filter((s) => s === 503).length > refusedBefore + 3, "requests are refused with 503"), 15_000)
      await cluster.postgres.up()
      // Back by itself: every node serves again.
      const servedBefore = answered.length
      await eventually(() => assert.ok(answered.length >= servedBefore + 30, "the nodes serve again"), 30_000)
    } finally {
      running = false
      await load
    }
    assert.deepEqual(statuses.filter((s) => s !== 200 && s !== 503), [])
    t.diagnostic(`${answered.length} answered, ${statuses.filter((s) => s === 503).length} refused with 503 across the outage`)
    await assertBooksBalance(cluster, account.id)
    await assertChargedOnce(cluster, account.id, answered)
  })

  it("frees the reservations of a node killed with kill -9 within its lease, loses and doubles no charge, and its peers' clients see no error", async (t) => {
    const [victim, ...survivors] = cluster.nodes as [RelayProcess, RelayProcess, RelayProcess]
    const doomed = await funded("on-the-killed-node")
    const living = await funded("on-the-living-nodes")
    // Answers the killed node finished before it died: each was charged before its end was sent.
    const finished: Array<string> = []
    for (let i = 0; i < 10; i++) {
      const answer = await timed(chat(victim, doomed.key, { model: "gpt-4o-mini" }))
      assert.equal(answer.status, 200)
      finished.push(answer.requestId!)
    }
    // Requests held open on the node when it dies (the upstream never answers): each holds a
    // reservation (its own row, or its part of the node's slice of the balance).
    const dispatched = mock.chats.length
    const held = Array.from({ length: 4 }, () =>
      chat(victim, doomed.key, { model: "mock-hang", max_tokens: 100 }).then((r) => r.status, () => "cut"))
    await eventually(() => assert.equal(mock.chats.length, dispatched + 4), 15_000)
    const holding = await booksOf(cluster.sql, doomed.account.id)
    assert.ok(holding.holds > 0 && holding.reserved > 0n, "the killed node's requests hold money in PostgreSQL")

    const served: Array<string> = []
    const failures: Array<string> = []
    let running = true
    const worker = async (node: RelayProcess) => {
      while (running) {
        try {
          const answer = await timed(chat(node, living.key, { model: "gpt-4o-mini" }))
          if (answer.status === 200) served.push(answer.requestId!)
          else failures.push(`${answer.status} ${answer.body}`)
        } catch (error) {
          failures.push(String(error))
        }
      }
    }
    const load = Promise.all(survivors.flatMap((node) => [worker(node), worker(node)]))
    let freedAfterMs: number
    try {
      await eventually(() => assert.ok(served.length >= 20, "traffic flows"), 15_000)
      victim.child.kill("SIGKILL")
      const killedAt = performance.now()
      assert.deepEqual(await Promise.all(held), ["cut", "cut", "cut", "cut"], "the killed node's own clients lose their connection")
      await eventually(async () => assert.equal((await booksOf(cluster.sql, doomed.account.id)).holds, 0), 30_000)
      freedAfterMs = performance.now() - killedAt
      const servedAtRelease = served.length
      await eventually(() => assert.ok(served.length >= servedAtRelease + 20, "the survivors go on serving"), 15_000)
    } finally {
      running = false
      await load
    }
    assert.deepEqual(failures, [], "the other nodes' clients saw no error")
    t.diagnostic(`holds freed ${Math.round(freedAfterMs)} ms after the kill; ${served.length} requests served by the other nodes`)
    // The holds outlive their node by its lease, renewed every third of it: freed by the others
    // once it runs out, with time for a loaded machine to run their sweep.
    assert.ok(freedAfterMs <= LEASE_SECONDS * 1000 + 10_000, `the killed node's holds were freed ${Math.round(freedAfterMs)} ms after it died`)
    const books = await assertBooksBalance(cluster, doomed.account.id)
    await assertChargedOnce(cluster, doomed.account.id, finished)
    assert.equal(books.records, finished.length, "the requests cut by the kill were never charged")
    await assertBooksBalance(cluster, living.account.id)
    await assertChargedOnce(cluster, living.account.id, served)
  })
})
