import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { Redis } from "ioredis"
import { connectPostgres, type Postgres } from "../../runtime/postgres.ts"
import { chat, createAccount } from "../helpers/accounts.ts"
import { startPostgres, startRedis, type TestPostgres, type TestServer } from "../helpers/databases.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { eventually, ROOT, type RelayProcess, startRelay } from "../helpers/relay.ts"

/**
 * A relay on PostgreSQL and Redis (the shipped config, selected by the environment) when one
 * of them stops answering: a request that needs it is refused with 503 in its surface's shape
 * while the store is still away (it never waits on it unbounded), nothing is charged twice or
 * lost, and the relay serves again by itself once the store is back.
 */

const SHIPPED_CONFIG = join(ROOT, "relay.config.ts")
const POOL_KEY = "sk-faults-pool-1111"

describe("a relay on PostgreSQL and Redis when one of them stops answering", () => {
  let postgres: TestPostgres
  let redis: TestServer
  let mock: MockOpenAI
  let relay: RelayProcess
  let sql: Postgres
  let key: string
  let accountId: string

  const anthropic = (body: Record<string, unknown>) =>
    fetch(`${relay.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", max_tokens: 20, messages: [{ role: "user", content: "hello" }], ...body })
    })

  before(async () => {
    ;[postgres, redis] = await Promise.all([startPostgres(), startRedis()])
    mock = new MockOpenAI({ [POOL_KEY]: "ok" })
    const upstream = await mock.start()
    const url = await postgres.createDatabase("faults")
    sql = connectPostgres(url)
    relay = await startRelay({
      config: SHIPPED_CONFIG,
      env: {
        OPENAI_BASE_URL: upstream,
        OPENAI_API_KEY: POOL_KEY,
        RELAY_MASTER_KEY: randomBytes(32).toString("base64"),
        DATABASE_URL: url,
        REDIS_URL: redis.url,
        RELAY_REDIS_TIMEOUT_MS: "300",
        // Renewals (which also let go of holds whose reserve got no answer) every second.
        RELAY_LEASE_SECONDS: "3"
      }
    })
    const made = await createAccount(relay, { name: "faults" })
    key = made.key
    accountId = made.account.id
    assert.equal((await relay.admin("POST", `/admin/accounts/${accountId}/credits`, { amount: "1" })).status, 200)
    // Served once both answer; on a loaded machine a first call may pass the 300 ms bound set above.
    await eventually(async () => assert.equal((await chat(relay, key, { model: "gpt-4o-mini", max_tokens: 20 })).status, 200), 10_000)
  })

  after(async () => {
    await relay?.stop()
    await sql?.end({ timeout: 1 })
    await mock?.stop()
    await Promise.all([postgres?.stop(), redis?.stop()])
  })

  it("Redis stalled: 503 in each surface's shape before Redis answers again, then served again by itself", async () => {
    const stall = new Redis(redis.url)
    let awake = false
    // Redis answers nobody for 4 s.
    const sleeping = stall.call("DEBUG", "SLEEP", "4").then(() => void (awake = true))
    try {
      await new Promise((resolve) => setTimeout(resolve, 100))
      const openai = await chat(relay, key, { model: "gpt-4o-mini", max_tokens: 20 })
      const messages = await anthropic({})
      // The admin API needs no rate window: it keeps working.
      const admin = await relay.admin("GET", `/admin/accounts/${accountId}`)
      assert.equal(awake, false, "the answers came while Redis still slept")
      assert.equal(admin.status, 200)
      assert.equal(openai.status, 503)
      const openaiBody = (await openai.json()) as { error: { code: string; message: string } }
      assert.equal(openaiBody.error.code, "store_unavailable")
      assert.ok(openai.headers.get("retry-after"))
      assert.equal(messages.status, 503)
      const messagesBody = (await messages.json()) as { type: string; error: { type: string; message: string } }
      assert.equal(messagesBody.type, "error")
      assert.ok(messagesBody.error.message.length > 0)
      assert.doesNotMatch(JSON.stringify([openaiBody, messagesBody]), /127\.0\.0\.1|redis:\/\//, "no host named")
    } finally {
      await sleeping
      stall.disconnect()
    }
    await eventually(async () => assert.equal((await chat(relay, key, { model: "gpt-4o-mini", max_tokens: 20 })).status, 200), 10_000)
  })

  it("PostgreSQL stalled: 503 before it answers again, then served again by itself, with every charge written once", async () => {
    const processes = [String(postgres.pid), ...execFileSync("pgrep", ["-P", String(postgres.pid)], { encoding: "utf8" }).split("\n").filter((pid) => pid !== "")]
    execFileSync("kill", ["-STOP", ...processes])
    let stopped = true
    try {
      const during = await chat(relay, key, { model: "gpt-4o-mini", max_tokens: 20 })
      assert.equal(during.status, 503, await during.clone().text())
      assert.equal(((await during.json()) as { error: { code: string } }).error.code, "store_unavailable")
      assert.equal(stopped, true)
    } finally {
      execFileSync("kill", ["-CONT", ...processes])
      stopped = false
    }
    await eventually(async () => assert.equal((await chat(relay, key, { model: "gpt-4o-mini", max_tokens: 20 })).status, 200), 20_000)

    // Every answered request is charged once: the balance is the credit less the usage, and the
    // ledger agrees. The refused request's hold, made while its answer was lost, is let go.
    const answered = mock.requests.length
    await eventually(async () => {
      const [money] = await sql<Array<{ balance: bigint; reserved: bigint; ledger: bigint; usage: bigint; records: bigint }>>`
        SELECT b.balance_nano AS balance, b.reserved_nano AS reserved,
               (SELECT coalesce(sum(CASE WHEN kind = 'charge' THEN -amount_nano ELSE amount_nano END), 0)::bigint
                FROM ledger WHERE account_id = ${accountId}) AS ledger,
               (SELECT coalesce(sum(cost_nano), 0)::bigint FROM usage_records WHERE account_id = ${accountId}) AS usage,
               (SELECT count(*)::bigint FROM usage_records WHERE account_id = ${accountId} AND status = 200) AS records
        FROM balances b WHERE b.account_id = ${accountId}`
      assert.equal(money!.records, BigInt(answered), "one usage record per answered request")
      assert.equal(money!.balance, 1_000_000_000n - money!.usage)
      assert.equal(money!.ledger, money!.balance)
      assert.equal(money!.reserved, 0n)
    }, 15_000)
  })
})
