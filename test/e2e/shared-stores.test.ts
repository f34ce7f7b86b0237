import assert from "node:assert/strict"
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { connectPostgres, type Postgres } from "../../runtime/postgres.ts"
import { chat, createAccount } from "../helpers/accounts.ts"
import { ConsoleVisitor } from "../helpers/console.ts"
import { freePort, startPostgres, startRedis, type TestPostgres, type TestServer } from "../helpers/databases.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { eventually, ROOT, type RelayProcess, runRelayToExit, startRelay } from "../helpers/relay.ts"

/**
 * The shipped relay.config.ts, run under the test runtime, selects its stores by the
 * environment alone: with DATABASE_URL and REDIS_URL two relay processes act as one relay on a
 * real PostgreSQL and Redis; with only one of them, or without a shared master key, it refuses
 * to start and says why.
 */

const SHIPPED_CONFIG = join(ROOT, "relay.config.ts")
const POOL_KEY = "sk-shared-pool-1111"
const OWN_KEY = "sk-shared-own-2222"
const OWN_KEY_REPLACED = "sk-shared-own-3333"
const LIMITED_KEY = "sk-shared-limited-4444"
const MASTER_KEY = randomBytes(32).toString("base64")

const bearer = (key: string) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" })

describe("stores selected by DATABASE_URL and REDIS_URL", () => {
  let postgres: TestPostgres
  let redis: TestServer
  let mock: MockOpenAI
  let upstream: string
  const clients: Array<Postgres> = []
  const relays: Array<RelayProcess> = []

  const node = async (env: Record<string, string>) => {
    const relay = await startRelay({
      config: SHIPPED_CONFIG,
      env: { OPENAI_BASE_URL: upstream, OPENAI_API_KEY: POOL_KEY, RELAY_MASTER_KEY: MASTER_KEY, ...env }
    })
    relays.push(relay)
    return relay
  }

  before(async () => {
    ;[postgres, redis] = await Promise.all([startPostgres(), startRedis()])
    mock = new MockOpenAI({ [POOL_KEY]: "ok", [OWN_KEY]: "ok", [OWN_KEY_REPLACED]: "ok", [LIMITED_KEY]: "rate429" })
    upstream = await mock.start()
  })

  after(async () => {
    await Promise.all(relays.map((relay) => relay.stop()))
    await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })))
    await mock.stop()
    await Promise.all([postgres.stop(), redis.stop()])
  })

  it("two nodes on PostgreSQL and Redis share accounts, money, revocations, limits and BYOK credentials", async () => {
    const url = await postgres.createDatabase("two_nodes")
    const shared = { DATABASE_URL: url, REDIS_URL: redis.url }
    // Started together on an empty database: the migrations run once, one first-run account.
    const [a, b] = await Promise.all([node(shared), node(shared)])
    assert.equal([a.firstRunKey, b.firstRunKey].filter((key) => key !== undefined).length, 1, "exactly one node made the first account")

    const sql = connectPostgres(url)
    clients.push(sql)

    // Made on A, credited on B, used on B, read on A.
    const { account, key } = await createAccount(a, { name: "everywhere" })
    assert.equal((await b.admin("POST", `/admin/accounts/${account.id}/credits`, { amount: "1" })).status, 200)
    const answered = await chat(b, key, { model: "gpt-4o-mini", max_tokens: 20 })
    assert.equal(answered.status, 200, await answered.clone().text())
    const [row] = await sql<Array<{ count: bigint; cost: bigint }>>`
      SELECT count(*)::bigint AS count, coalesce(sum(cost_nano), 0)::bigint AS cost FROM usage_records WHERE account_id = ${account.id}`
    assert.equal(row!.count, 1n, "the usage record is in PostgreSQL")
    assert.ok(row!.cost > 0n)
    const viewed = (await (await a.admin("GET", `/admin/accounts/${account.id}`)).json()) as { balance: string }
    assert.equal(Math.round(Number(viewed.balance) * 1e9), 1_000_000_000 - Number(row!.cost), "A sees the charge B made")

    // The rate window is one: the starter tier's 60 rpm across both nodes, and the remaining
    // count never goes up whichever node answers.
    const remaining: Array<number> = [Number(answered.headers.get("x-ratelimit-remaining"))]
    for (let i = 0; i < 4; i++) {
      const response = await chat(i % 2 === 0 ? a : b, key, { model: "gpt-4o-mini", max_tokens: 20 })
      assert.equal(response.status, 200)
      remaining.push(Number(response.headers.get("x-ratelimit-remaining")))
    }
    assert.deepEqual(remaining, [59, 58, 57, 56, 55])

    // A BYOK credential stored through A is opened and used by B (one master key).
    const put = await fetch(`${a.baseURL}/account/byok/openai`, { method: "PUT", headers: bearer(key), body: JSON.stringify({ api_key: OWN_KEY }) })
    assert.equal(put.status, 200, await put.clone().text())
    const [stored] = await sql<Array<{ ciphertext: Uint8Array }>>`SELECT ciphertext FROM byok_credentials WHERE account_id = ${account.id}`
    assert.ok(!Buffer.from(stored!.ciphertext).toString("latin1").includes(OWN_KEY), "stored sealed")
    const byok = await chat(b, key, { model: "gpt-4o-mini", max_tokens: 20 }, "/byok/v1/chat/completions")
    assert.equal(byok.status, 200, await byok.clone().text())
    assert.equal(mock.requests.at(-1)!.headers.authorization, `Bearer ${OWN_KEY}`)
    // Replaced through A while B holds the old one opened: B uses the new one at once (its
    // cache would otherwise keep the old one for a minute).
    const replaced = await fetch(`${a.baseURL}/account/byok/openai`, { method: "PUT", headers: bearer(key), body: JSON.stringify({ api_key: OWN_KEY_REPLACED }) })
    assert.equal(replaced.status, 200)
    await eventually(async () => {
      assert.equal((await chat(b, key, { model: "gpt-4o-mini", max_tokens: 20 }, "/byok/v1/chat/completions")).status, 200)
      assert.equal(mock.requests.at(-1)!.headers.authorization, `Bearer ${OWN_KEY_REPLACED}`)
    }, 1_000)

    // A response the relay keeps (translated: echo-1 is no OpenAI model) is continued through
    // the other node, at once.
    const first = await fetch(`${a.baseURL}/responses`, { method: "POST", headers: bearer(key), body: JSON.stringify({ model: "echo-1", input: "first turn" }) })
    assert.equal(first.status, 200, await first.clone().text())
    const { id: firstId } = (await first.json()) as { id: string }
    const second = await fetch(`${b.baseURL}/responses`, {
      method: "POST",
      headers: bearer(key),
      body: JSON.stringify({ model: "echo-1", input: "second turn", previous_response_id: firstId })
    })
    assert.equal(second.status, 200, await second.clone().text())
    const items = await fetch(`${b.baseURL}/responses/${firstId}/input_items`, { headers: bearer(key) })
    assert.equal(items.status, 200)
    assert.equal(((await items.json()) as { data: Array<unknown> }).data.length, 1)

    // A console session made on A is signed in on B; a visitor without its cookie is not.
    const onA = new ConsoleVisitor(a.url)
    assert.match(await onA.signIn(key), /Sign out/)
    const onB = new ConsoleVisitor(b.url)
    onB.cookie = onA.cookie
    const page = await onB.get("/console")
    assert.equal(page.status, 200)
    assert.match(page.html, /Sign out/)
    assert.doesNotMatch((await new ConsoleVisitor(b.url).get("/console")).html, /Sign out/)

    // A key revoked through B stops working on A within a second.
    const { id: keyId } = (await (await a.admin("GET", `/admin/accounts/${account.id}/keys`)).json() as { data: Array<{ id: string }> }).data[0]!
    assert.equal((await chat(a, key, { model: "gpt-4o-mini", max_tokens: 20 })).status, 200, "A has the key cached")
    assert.equal((await b.admin("DELETE", `/admin/keys/${keyId}`)).status, 204)
    const revokedAt = Date.now()
    await eventually(async () => assert.equal((await chat(a, key, { model: "gpt-4o-mini", max_tokens: 20 })).status, 401), 5_000)
    assert.ok(Date.now() - revokedAt < 1_500, `A refused the revoked key after ${Date.now() - revokedAt} ms`)

    // Nothing of the accounts or money went to either node's SQLite file.
    const [accounts] = await sql<Array<{ count: bigint }>>`SELECT count(*)::bigint AS count FROM accounts`
    assert.equal(accounts!.count, 2n, "the first-run account and this one")
  })

  it("an account's own limits set through one node hold on the other at once, kept in PostgreSQL", async () => {
    const url = await postgres.createDatabase("overrides")
    const shared = { DATABASE_URL: url, REDIS_URL: redis.url }
    const a = await node(shared)
    const b = await node(shared)
    const { account, key } = await createAccount(a, { name: "held", credits: "1" })
    // B has read the account's limits (the starter tier's) and caches them.
    const before = await chat(b, key, { model: "gpt-4o-mini", max_tokens: 20 })
    assert.equal(before.headers.get("x-ratelimit-limit"), "60")
    assert.equal((await a.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 2, tpm: 9_000 })).status, 200)
    await eventually(async () => {
      const response = await chat(b, key, { model: "gpt-4o-mini", max_tokens: 20 })
      assert.equal(response.headers.get("x-ratelimit-limit"), "2")
      assert.equal(response.headers.get("x-ratelimit-limit-tokens"), "9000")
    }, 5_000)
    assert.deepEqual(((await (await b.admin("GET", `/admin/accounts/${account.id}`)).json()) as { limits: unknown }).limits, { rpm: 2, tpm: 9_000 })
    const sql = connectPostgres(url)
    clients.push(sql)
    const rows = await sql<Array<{ rpm: number; tpm: number }>>`SELECT rpm, tpm FROM limiter_overrides WHERE account_id = ${account.id}`
    assert.deepEqual(rows.map((row) => [row.rpm, row.tpm]), [[2, 9_000]])
  })

  it("a pool key one node finds rate limited rests on the other node too, as a suspension made there holds here", async () => {
    const url = await postgres.createDatabase("key_rests")
    const env = { DATABASE_URL: url, REDIS_URL: redis.url, OPENAI_API_KEY: `${LIMITED_KEY},${POOL_KEY}` }
    const [a, b] = await Promise.all([node(env), node(env)])
    const { account, key } = await createAccount(a, { name: "rests" })
    assert.equal((await a.admin("POST", `/admin/accounts/${account.id}/credits`, { amount: "1" })).status, 200)
    // A's first request tries the limited key first (its pool starts there), which rests.
    const seen = mock.requests.length
    assert.equal((await chat(a, key, { model: "gpt-4o-mini", max_tokens: 20 })).status, 200)
    assert.deepEqual(mock.requests.slice(seen).map((request) => request.headers.authorization), [`Bearer ${LIMITED_KEY}`, `Bearer ${POOL_KEY}`])
    // B, whose pool also starts at the limited key, never sends it a request once the rest has
    // had a moment to arrive (a pub/sub message on loopback takes a millisecond or so).
    await new Promise((resolve) => setTimeout(resolve, 500))
    const before = mock.requests.length
    for (let i = 0; i < 4; i++) assert.equal((await chat(b, key, { model: "gpt-4o-mini", max_tokens: 20 })).status, 200)
    assert.deepEqual(mock.requests.slice(before).map((request) => request.headers.authorization), Array(4).fill(`Bearer ${POOL_KEY}`))

    // An account suspended through B is refused on A, whose cache held its key, within a second.
    assert.equal((await b.admin("POST", `/admin/accounts/${account.id}/suspend`, {})).status, 200)
    const suspendedAt = Date.now()
    await eventually(async () => assert.equal((await chat(a, key, { model: "gpt-4o-mini", max_tokens: 20 })).status, 403), 5_000)
    assert.ok(Date.now() - suspendedAt < 1_500, `A refused the suspended account after ${Date.now() - suspendedAt} ms`)
  })

  it("a key's restrictions, an account's resumption and its deletion made through one node hold on the other at once; key spend and the audit log are shared", async () => {
    const url = await postgres.createDatabase("key_rules")
    const [a, b] = await Promise.all([node({ DATABASE_URL: url, REDIS_URL: redis.url }), node({ DATABASE_URL: url, REDIS_URL: redis.url })])
    const sql = connectPostgres(url)
    clients.push(sql)
    const { account, key } = await createAccount(a, { name: "governed", credits: "1" })
    const { id: keyId } = ((await (await a.admin("GET", `/admin/accounts/${account.id}/keys`)).json()) as { data: Array<{ id: string }> }).data[0]!
    const ask = (relay: RelayProcess) => chat(relay, key, { model: "gpt-4o-mini", max_tokens: 20 })
    /** Waits for A to give `status`, after a change made through B, and says how long it took. */
    const refusedOnA = async (status: number, code?: string) => {
      const changedAt = Date.now()
      await eventually(async () => {
        const answer = await ask(a)
        assert.equal(answer.status, status)
        if (code !== undefined) assert.equal(((await answer.json()) as { error: { code: string } }).error.code, code)
      }, 5_000)
      return Date.now() - changedAt
    }

    // A holds the key cached; B narrows the key's models: A refuses the model at once.
    assert.equal((await ask(a)).status, 200)
    assert.equal((await b.admin("PATCH", `/admin/keys/${keyId}`, { models: ["gpt-4.1*"] })).status, 200)
    const narrowed = await refusedOnA(403, "model_not_allowed")
    assert.ok(narrowed < 1_500, `A applied the key's model list after ${narrowed} ms`)

    // A spend limit set through B counts spend made on either node (key_spend is in PostgreSQL):
    // a limit at what the key has spent so far refuses it on A.
    assert.equal((await b.admin("PATCH", `/admin/keys/${keyId}`, { models: null })).status, 200)
    await refusedOnA(200)
    const [spent] = await sql<Array<{ spent: bigint }>>`SELECT coalesce(sum(spent_nano), 0)::bigint AS spent FROM key_spend WHERE key_id = ${keyId}`
    assert.ok(spent!.spent > 0n, "the key's spend is kept in PostgreSQL")
    assert.equal((await b.admin("PATCH", `/admin/keys/${keyId}`, { spend_limit: (Number(spent!.spent) / 1e9).toFixed(9) })).status, 200)
    await refusedOnA(402, "key_spend_limit_exceeded")

    // Suspended and resumed through B: A serves the key again at once.
    assert.equal((await b.admin("PATCH", `/admin/keys/${keyId}`, { spend_limit: null })).status, 200)
    await refusedOnA(200)
    assert.equal((await b.admin("POST", `/admin/accounts/${account.id}/suspend`, {})).status, 200)
    await refusedOnA(403, "account_suspended")
    assert.equal((await b.admin("POST", `/admin/accounts/${account.id}/resume`, {})).status, 200)
    const resumed = await refusedOnA(200)
    assert.ok(resumed < 1_500, `A served the resumed account after ${resumed} ms`)

    // Deleted through B: A refuses its key at once; the books stay in PostgreSQL.
    assert.equal((await b.admin("DELETE", `/admin/accounts/${account.id}`)).status, 204)
    const deleted = await refusedOnA(401)
    assert.ok(deleted < 1_500, `A refused the deleted account's key after ${deleted} ms`)
    const [usage] = await sql<Array<{ count: bigint }>>`SELECT count(*)::bigint AS count FROM usage_records WHERE account_id = ${account.id}`
    assert.ok(usage!.count >= 3n, "the deleted account's usage is kept")

    // Every change above, made through either node, is in the one audit log in PostgreSQL.
    const audit = (await (await a.admin("GET", `/admin/audit?account_id=${account.id}`)).json()) as { data: Array<{ action: string }> }
    assert.deepEqual(audit.data.slice(0, 7).map((entry) => entry.action), [
      "DELETE /admin/accounts/{id}",
      "POST /admin/accounts/{id}/resume",
      "POST /admin/accounts/{id}/suspend",
      "PATCH /admin/keys/{id}",
      "PATCH /admin/keys/{id}",
      "PATCH /admin/keys/{id}",
      "PATCH /admin/keys/{id}"
    ])
    const [logged] = await sql<Array<{ count: bigint }>>`SELECT count(*)::bigint AS count FROM audit_log WHERE account_id = ${account.id}`
    assert.ok(logged!.count >= 9n, "the audit log is kept in PostgreSQL")
  })

  it("refuses to start with only one of DATABASE_URL and REDIS_URL, or without a shared master key", async () => {
    const url = await postgres.createDatabase("refusals")
    const base = { RELAY_CONFIG: SHIPPED_CONFIG, OPENAI_API_KEY: POOL_KEY }
    const onlyDatabase = await runRelayToExit({ ...base, DATABASE_URL: url, RELAY_MASTER_KEY: MASTER_KEY })
    assert.equal(onlyDatabase.code, 1)
    assert.match(onlyDatabase.output, /DATABASE_URL is set without REDIS_URL/)
    const onlyRedis = await runRelayToExit({ ...base, REDIS_URL: redis.url, RELAY_MASTER_KEY: MASTER_KEY })
    assert.equal(onlyRedis.code, 1)
    assert.match(onlyRedis.output, /REDIS_URL is set without DATABASE_URL/)
    const noMasterKey = await runRelayToExit({ ...base, DATABASE_URL: url, REDIS_URL: redis.url })
    assert.equal(noMasterKey.code, 1)
    assert.match(noMasterKey.output, /without RELAY_MASTER_KEY/)
    assert.doesNotMatch([onlyDatabase, onlyRedis, noMasterKey].map((run) => run.output).join(""), /listening/)
  })

  it("refuses to start when PostgreSQL or Redis cannot be reached, naming neither host nor password", async () => {
    const closed = await freePort()
    const noRedis = await runRelayToExit({
      RELAY_CONFIG: SHIPPED_CONFIG,
      DATABASE_URL: await postgres.createDatabase("no_redis"),
      REDIS_URL: `redis://:hunter2-secret@127.0.0.1:${closed}`,
      RELAY_MASTER_KEY: MASTER_KEY
    })
    assert.equal(noRedis.code, 1)
    assert.match(noRedis.output, /Redis at REDIS_URL did not answer/)
    assert.doesNotMatch(noRedis.output, /hunter2-secret|listening/)

    const run = await runRelayToExit({
      RELAY_CONFIG: SHIPPED_CONFIG,
      DATABASE_URL: `postgres://relay:hunter2-secret@127.0.0.1:${closed}/relay`,
      REDIS_URL: redis.url,
      RELAY_MASTER_KEY: MASTER_KEY
    })
    assert.equal(run.code, 1)
    assert.match(run.output, /PostgreSQL at DATABASE_URL/)
    // The deployment's fault, not the config's.
    assert.doesNotMatch(run.output, /config is invalid/)
    assert.doesNotMatch(run.output, /hunter2-secret/)
    assert.doesNotMatch(run.output, /listening/)
  })
})
