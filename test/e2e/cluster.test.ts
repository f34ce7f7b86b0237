import assert from "node:assert/strict"
import { execFile } from "node:child_process"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { chat, createAccount } from "../helpers/accounts.ts"
import { booksOf, type Cluster, CLUSTER_CONFIG, startCluster } from "../helpers/cluster.ts"
import { ConsoleVisitor } from "../helpers/console.ts"
import { MockAnthropic } from "../helpers/mock-anthropic.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { startTripCounter } from "../helpers/trip-counter.ts"
import { ADMIN_KEY, eventually, type RelayProcess, ROOT, runRelayToExit } from "../helpers/relay.ts"

/**
 * Three relay processes on one PostgreSQL and one Redis, clients spread round-robin over them:
 * they act as one relay. Limits, balances, keys, BYOK credentials and console sessions are the
 * same whichever node answers.
 */

const SHARED = "sk-cluster-shared-000"
const OWN = "sk-cluster-own-key-4242"
const ANTHROPIC_SHARED = "sk-ant-cluster-000"

const withKey = (node: RelayProcess, key: string, path: string, init: RequestInit = {}) =>
  fetch(`${node.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...init.headers } })

/** The answers' statuses, counted. */
const tally = (statuses: ReadonlyArray<number>) =>
  statuses.reduce<Record<number, number>>((counts, status) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {})

/**
 * How long after `revokedAt` the node refused `key`, measured from the start of the first
 * request it refused; until then the key must still work, and not for 5 s.
 */
const refusedAfter = async (node: RelayProcess, key: string, revokedAt: number): Promise<number> => {
  for (;;) {
    const sentAt = Date.now()
    const answer = await chat(node, key, { model: "gpt-4o-mini" })
    if (answer.status === 401) return sentAt - revokedAt
    assert.equal(answer.status, 200)
    assert.ok(sentAt - revokedAt < 5_000, "the key still works 5 s after its revocation")
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe("three relay nodes on one PostgreSQL and one Redis act as one relay", () => {
  const openai = new MockOpenAI({ [SHARED]: "ok", [OWN]: "ok" })
  const anthropic = new MockAnthropic({ [ANTHROPIC_SHARED]: "ok" })
  let cluster: Cluster

  before(async () => {
    const [openaiUrl, anthropicUrl] = await Promise.all([openai.start(), anthropic.start()])
    cluster = await startCluster({
      config: CLUSTER_CONFIG,
      env: { OPENAI_API_KEY: SHARED, OPENAI_BASE_URL: openaiUrl, ANTHROPIC_API_KEY: ANTHROPIC_SHARED, ANTHROPIC_BASE_URL: anthropicUrl }
    })
  })

  after(async () => {
    await cluster?.stop()
    await Promise.all([openai.stop(), anthropic.stop()])
  })

  it("admits exactly 60 of 70 requests on a starter key spread over the nodes, Remaining never rising", async () => {
    const { key } = await createAccount(cluster.nodes[0]!, { name: "rpm", credits: "1.00" })
    const answers: Array<Response> = []
    for (let i = 0; i < 70; i++) answers.push(await chat(cluster.next(), key, { model: "gpt-4o-mini" }))
    assert.deepEqual(answers.map((r) => r.status), [...Array(60).fill(200), ...Array(10).fill(429)])
    const remaining = answers.map((r) => Number(r.headers.get("x-ratelimit-remaining")))
    assert.deepEqual(remaining.slice(0, 60), Array.from({ length: 60 }, (_, i) => 59 - i), "each request spends one, whichever node answers")
    assert.deepEqual(remaining.slice(60), Array(10).fill(0))
    for (const answer of answers) assert.equal(answer.headers.get("x-ratelimit-limit"), "60")
  })

  it("holds TPM within 1% across the nodes", async () => {
    const tpm = 3_000
    const { account, key } = await createAccount(cluster.nodes[0]!, { name: "tpm", credits: "1.00" })
    assert.equal((await cluster.nodes[1]!.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 1_000, tpm })).status, 200)
    const words = Array.from({ length: 30 }, (_, i) => `w${i}`).join(" ")
    let refusedBatches = 0
    let sent = 0
    // Six at once, two per node, until the window refuses two batches in a row.
    while (refusedBatches < 2 && sent < 600) {
      const batch = await Promise.all(Array.from({ length: 6 }, () =>
        chat(cluster.next(), key, { model: "gpt-4o-mini", max_tokens: 40, messages: [{ role: "user", content: words }] })))
      sent += batch.length
      const statuses = batch.map((r) => r.status)
      assert.ok(statuses.every((s) => s === 200 || s === 429), `statuses ${statuses}`)
      refusedBatches = statuses.every((s) => s === 429) ? refusedBatches + 1 : 0
      await Promise.all(batch.map((r) => r.arrayBuffer()))
    }
    assert.equal(refusedBatches, 2, "the window refused")
    const records = await eventually(async () => {
      const { rows, holds } = await tokensOf(cluster, account.id)
      assert.equal(holds, 0)
      return rows
    })
    const admitted = records.reduce((sum, r) => sum + r.tokens, 0)
    assert.ok(admitted <= tpm * 1.01, `${admitted} tokens admitted within the minute, limit ${tpm}`)
    // What stopped the requests was the limit, not something short of it.
    assert.ok(admitted >= tpm * 0.9, `${admitted} tokens admitted, limit ${tpm}`)
  })

  it("admits exactly 5 of 50 concurrent requests against a balance that covers 5 reservations, and the balance equals the ledger", async () => {
    // Each reservation is a little over $0.0006 (max_tokens 1,000 at $0.60 per 1M, and the prompt):
    // $0.0033 covers five and not six.
    const { account, key } = await createAccount(cluster.nodes[0]!, { name: "five", credits: "0.0033" })
    // The upstream holds each admitted request 5 s, so no hold is released by a settle while the
    // others are still being admitted, even on a loaded machine.
    const answers = await Promise.all(Array.from({ length: 50 }, () =>
      chat(cluster.next(), key, { model: "mock-pause", max_tokens: 1_000, metadata: { pause_ms: "5000" } })))
    assert.deepEqual(tally(answers.map((r) => r.status)), { 200: 5, 402: 45 })
    const books = await eventually(async () => {
      const books = await booksOf(cluster.sql, account.id)
      assert.equal(books.holds, 0)
      return books
    })
    assert.ok(books.balance >= 0n)
    assert.equal(books.reserved, 0n)
    assert.equal(books.balance, books.ledger)
    assert.equal(books.balance, books.credits - books.usage)
  })

  it("keeps the balance equal to credits minus the usage records to the nano-USD after 1,000 mixed requests", async () => {
    const { account, key } = await createAccount(cluster.nodes[0]!, { name: "mixed", credits: "10.00" })
    assert.equal((await cluster.nodes[2]!.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 5_000, tpm: 10_000_000 })).status, 200)
    const clients = cluster.nodes.map((node) => ({
      openai: new OpenAI({ baseURL: node.baseURL, apiKey: key, maxRetries: 0 }),
      anthropic: new Anthropic({ baseURL: node.url, apiKey: key, maxRetries: 0 })
    }))
    const drain = async (stream: AsyncIterable<unknown>) => {
      for await (const _ of stream) void _
    }
    // Six kinds of request: chat completions, messages (passed through and translated) and
    // responses, streamed and not.
    const request = async (i: number) => {
      const { openai, anthropic } = clients[i % clients.length]!
      const content = Array.from({ length: 1 + (i % 7) }, (_, w) => `w${w}`).join(" ")
      switch (i % 6) {
        case 0:
          return void (await openai.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content }] }))
        case 1:
          return drain(await openai.chat.completions.create({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content }] }))
        case 2:
          return void (await anthropic.messages.create({ model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content }] }))
        case 3:
          return drain(await anthropic.messages.create({ model: "gpt-4o-mini", max_tokens: 100, stream: true, messages: [{ role: "user", content }] }))
        case 4:
          return void (await openai.responses.create({ model: "gpt-4o-mini", input: content, store: false }))
        default:
          return drain(await openai.responses.create({ model: "claude-sonnet-4-6", input: content, stream: true, store: false }))
      }
    }
    let next = 0
    const worker = async () => {
      for (let i = next++; i < 1_000; i = next++) await request(i)
    }
    await Promise.all(Array.from({ length: 12 }, worker))
    const books = await eventually(async () => {
      const books = await booksOf(cluster.sql, account.id)
      assert.equal(books.records, 1_000)
      assert.equal(books.holds, 0)
      return books
    }, 15_000)
    assert.equal(books.credits, 10_000_000_000n)
    assert.ok(books.usage > 0n)
    assert.equal(books.balance, books.credits - books.usage)
    assert.equal(books.balance, books.ledger)
    assert.equal(books.reserved, 0n)
  })

  it("serves an account, key or credit made on one node on the others at once, and a key revoked on one stops on the others within 1 s", async () => {
    const [a, b, c] = cluster.nodes as [RelayProcess, RelayProcess, RelayProcess]
    const { account, key } = await createAccount(a, { name: "made-on-a" })
    // Room for the requests that watch for the revocation.
    assert.equal((await c.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 1_000 })).status, 200)
    // Known on the others at once: with no credit the answer is the balance's 402, not a 401.
    assert.equal((await chat(b, key, { model: "gpt-4o-mini" })).status, 402)
    assert.equal((await c.admin("POST", `/admin/accounts/${account.id}/credits`, { amount: "1.00" })).status, 200)
    assert.equal((await chat(b, key, { model: "gpt-4o-mini" })).status, 200, "a credit made on one node is spent on another at once")
    const issued = await b.admin("POST", `/admin/accounts/${account.id}/keys`, {})
    const second = (await issued.json()) as { id: string; key: string }
    for (const node of [a, c]) assert.equal((await chat(node, second.key, { model: "gpt-4o-mini" })).status, 200, "a key made on one node works on another at once")
    for (const node of [b, c]) assert.equal((await chat(node, key, { model: "gpt-4o-mini" })).status, 200)

    const listed = (await (await a.admin("GET", `/admin/accounts/${account.id}/keys`)).json()) as { data: Array<{ id: string; prefix: string }> }
    const first = listed.data.find((k) => key.startsWith(k.prefix) && k.id !== second.id)!
    assert.equal((await a.admin("DELETE", `/admin/keys/${first.id}`)).status, 204)
    const revokedAt = Date.now()
    const [onB, onC] = await Promise.all([refusedAfter(b, key, revokedAt), refusedAfter(c, key, revokedAt)])
    assert.ok(onB <= 1_000 && onC <= 1_000, `refused on the other nodes ${onB} ms and ${onC} ms after the revocation`)
    for (const node of cluster.nodes) assert.equal((await chat(node, key, { model: "gpt-4o-mini" })).status, 401, "and it stays refused")
    for (const node of cluster.nodes) assert.equal((await chat(node, second.key, { model: "gpt-4o-mini" })).status, 200, "the account's other key still works")
  })

  it("refuses on every node within 1 s a key revoked by `relay keys revoke`, a process of its own on the same stores", async () => {
    const { account, key } = await createAccount(cluster.nodes[0]!, { name: "revoked-by-cli", credits: "1.00" })
    assert.equal((await cluster.nodes[0]!.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 1_000 })).status, 200)
    // Every node holds the key in its cache, which it trusts for far longer than a second.
    for (const node of cluster.nodes) assert.equal((await chat(node, key, { model: "gpt-4o-mini" })).status, 200)
    const listed = (await (await cluster.nodes[0]!.admin("GET", `/admin/accounts/${account.id}/keys`)).json()) as { data: Array<{ id: string }> }
    const run = await new Promise<{ code: number; output: string }>((resolve) =>
      execFile(
        process.execPath,
        [join(ROOT, "bin/relay.js"), "keys", "revoke", listed.data[0]!.id],
        { cwd: tmpdir(), env: { PATH: process.env.PATH, HOME: process.env.HOME, ...cluster.env, RELAY_CONFIG: CLUSTER_CONFIG }, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr })
      )
    )
    assert.equal(run.code, 0, run.output)
    const revokedAt = Date.now()
    const after = await Promise.all(cluster.nodes.map((node) => refusedAfter(node, key, revokedAt)))
    assert.ok(after.every((ms) => ms <= 1_000), `refused ${after.join(", ")} ms after the command exited`)
  })

  it("uses a BYOK credential stored through one node on the others", async () => {
    const [a, b, c] = cluster.nodes as [RelayProcess, RelayProcess, RelayProcess]
    const { key } = await createAccount(a, { name: "byok" })
    const put = await withKey(a, key, "/v1/account/byok/openai", { method: "PUT", body: JSON.stringify({ api_key: OWN }) })
    assert.equal(put.status, 200)
    for (const node of [b, c]) {
      const client = new OpenAI({ baseURL: `${node.url}/byok/v1`, apiKey: key, maxRetries: 0 })
      const before = openai.chats.length
      const answer = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "my own key" }] })
      assert.equal(answer.choices[0]!.message.content, "my own key")
      const seen = openai.chats.slice(before)
      assert.equal(seen.length, 1)
      assert.equal(seen[0]!.headers.authorization, `Bearer ${OWN}`, "the upstream saw the caller's own key, opened on another node")
    }
  })

  it("keeps a console session made on one node on the others", async () => {
    const [a, b, c] = cluster.nodes as [RelayProcess, RelayProcess, RelayProcess]
    const { account, key } = await createAccount(a, { name: "console-everywhere" })
    const visitor = new ConsoleVisitor(a.url)
    const home = await visitor.signIn(key)
    assert.match(home, /console-everywhere/)
    // The same browser, sent to another node by the load balancer.
    const on = (node: RelayProcess) => Object.assign(new ConsoleVisitor(node.url), { cookie: visitor.cookie, csrf: visitor.csrf })
    const atB = on(b)
    const page = await atB.get("/console")
    assert.equal(page.status, 200)
    assert.match(page.html, /console-everywhere/)
    assert.doesNotMatch(page.html, /Sign in to the console/)
    // A form posted to a third node, with the CSRF token of the page another node served.
    const atC = on(c)
    assert.equal((await atC.post("/console/keys", { name: "made in the console" }, atB.csrf)).status, 303)
    const keys = (await (await a.admin("GET", `/admin/accounts/${account.id}/keys`)).json()) as { data: Array<{ name: string }> }
    assert.ok(keys.data.some((k) => k.name === "made in the console"))
    // Signing out on one node ends the session on all.
    assert.equal((await atC.post("/console/sign-out", {})).status, 303)
    for (const node of [a, b]) assert.match((await on(node).get("/console")).html, /Sign in to the console/)
  })

  it("waits on PostgreSQL and Redis at most once each before dispatch, and batches settles", async (t) => {
    // A fourth node reaching both through proxies that count round trips; a long lease keeps its
    // renewals out of the count.
    const [pg, redis] = await Promise.all([startTripCounter(cluster.postgres.port), startTripCounter(cluster.redis.port)])
    const node = await cluster.startNode({
      DATABASE_URL: cluster.env.DATABASE_URL!.replace(`:${cluster.postgres.port}/`, `:${pg.port}/`),
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      RELAY_LEASE_SECONDS: "600"
    })
    try {
      const { account, key } = await createAccount(cluster.nodes[0]!, { name: "round-trips", credits: "1.00" })
      assert.equal((await node.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 1_000 })).status, 200)
      // Warm: the node's connections are open.
      for (let i = 0; i < 3; i++) assert.equal((await chat(node, key, { model: "gpt-4o-mini" })).status, 200)
      const trips = () => ({ postgres: pg.trips(), redis: redis.trips() })
      /**
       * One request right after another, so its key is in the node's cache, or (aged) one a
       * second after the last, past the half second a single node trusts a cached key: the trips
       * before its dispatch, and after.
       */
      const measure = async (aged = false) => {
        if (aged) await new Promise((resolve) => setTimeout(resolve, 1_000))
        else assert.equal((await chat(node, key, { model: "gpt-4o-mini" })).status, 200)
        const before = trips()
        const arrived = openai.chats.length
        const answer = chat(node, key, { model: "mock-pause", max_tokens: 10, metadata: { pause_ms: "500" } })
        await eventually(() => assert.ok(openai.chats.length > arrived, "dispatched"))
        const atDispatch = trips()
        assert.equal((await answer).status, 200)
        const settled = trips()
        return {
          before: { postgres: atDispatch.postgres - before.postgres, redis: atDispatch.redis - before.redis },
          after: { postgres: settled.postgres - atDispatch.postgres, redis: settled.redis - atDispatch.redis }
        }
      }
      // Revocations reach every node's key cache over the fan-out, so a shared node trusts a
      // cached key for long: an aged key costs no lookup either. The fewest of three tries, as a
      // request may still meet a pool connection opening.
      const tries = [await measure(), await measure(), await measure()]
      const aged = [await measure(true), await measure(true), await measure(true)]
      t.diagnostic(`a second after the last request, PostgreSQL round trips before dispatch: ${aged.map((m) => m.before.postgres).join("; ")}`)
      assert.ok(Math.min(...aged.map((m) => m.before.postgres)) <= 1, "an aged cached key costs no second PostgreSQL round trip")
      t.diagnostic(`before dispatch, PostgreSQL and Redis round trips: ${tries.map((m) => `${m.before.postgres} and ${m.before.redis}`).join("; ")}; after: ${tries.map((m) => `${m.after.postgres} and ${m.after.redis}`).join("; ")}`)
      const fewest = (pick: (m: (typeof tries)[number]) => number) => Math.min(...tries.map(pick))
      assert.ok(fewest((m) => m.before.postgres) <= 1, "one PostgreSQL round trip before dispatch")
      assert.ok(tries.every((m) => m.before.redis <= 1), "one Redis round trip before dispatch")
      // The answer's end waits for its settle: one statement, one round trip, when it is alone.
      assert.ok(fewest((m) => m.after.postgres) <= 1, "one PostgreSQL round trip to settle one request")

      // Settles of requests that end together share their round trips (the reserves before
      // dispatch are counted for the report: each request whose cached key has aged past the
      // revalidation interval looks it up again, and new pool connections take trips to open).
      const start = trips()
      const sent = openai.chats.length
      const together = Promise.all(Array.from({ length: 20 }, () => chat(node, key, { model: "mock-pause", max_tokens: 10, metadata: { pause_ms: "1000" } })))
      await eventually(() => assert.equal(openai.chats.length, sent + 20, "all dispatched"))
      const dispatched = trips()
      assert.deepEqual((await together).map((r) => r.status), Array(20).fill(200))
      const end = trips()
      const settling = { postgres: end.postgres - dispatched.postgres, redis: end.redis - dispatched.redis }
      t.diagnostic(`20 requests at once: ${dispatched.postgres - start.postgres} PostgreSQL and ${dispatched.redis - start.redis} Redis round trips before dispatch, ${settling.postgres} and ${settling.redis} to settle`)
      // A settle's transaction takes three round trips (BEGIN, its statements, COMMIT): twenty
      // settles written one by one would take sixty.
      assert.ok(settling.postgres < 3 * 20, `${settling.postgres} PostgreSQL round trips for 20 settles`)
      // The token window's correction is not waited for (the answer's end does not wait on
      // Redis): at most one script a request, pipelined when they meet in one turn.
      assert.ok(settling.redis <= 20, `${settling.redis} Redis round trips for 20 settles`)
    } finally {
      cluster.nodes.splice(cluster.nodes.indexOf(node), 1)
      await node.stop()
      await Promise.all([pg.stop(), redis.stop()])
    }
  })

  it("refuses to start as a cluster without a shared RELAY_MASTER_KEY, saying so", async () => {
    const { RELAY_MASTER_KEY: _, ...env } = cluster.env
    const { code, output } = await runRelayToExit({ ...(env as Record<string, string>), RELAY_CONFIG: CLUSTER_CONFIG, RELAY_ADMIN_KEY: ADMIN_KEY })
    assert.notEqual(code, 0)
    assert.match(output, /RELAY_MASTER_KEY/)
    assert.doesNotMatch(output, /"msg":"listening"/)
  })
})

/** The tokens each admitted request used, from its usage record, and the holds still open. */
const tokensOf = async (cluster: Cluster, account: string) => {
  const rows = await cluster.sql<Array<{ tokens: number }>>`
    SELECT (prompt_tokens + completion_tokens)::int AS tokens FROM usage_records WHERE account_id = ${account} AND status = 200`
  const [count] = await cluster.sql<Array<{ holds: number }>>`SELECT COUNT(*)::int AS holds FROM reservations WHERE account_id = ${account}`
  return { rows: [...rows], holds: count!.holds }
}
