import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import Database from "better-sqlite3"
import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { parseUsd } from "../../core/index.ts"
import { type AccountView, chat, createAccount } from "../helpers/accounts.ts"
import { MockAnthropic } from "../helpers/mock-anthropic.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { eventually, ROOT, type RelayProcess, startRelay } from "../helpers/relay.ts"

const METERED_CONFIG = join(ROOT, "test/fixtures/relay.metered-config.ts")

/** gpt-4o-mini in the metered config, in nano-USD per token: $0.15, $0.075 cached, $0.60 per 1M. */
const INPUT = 150n
const CACHED = 75n
const OUTPUT = 600n

interface UsageRecord {
  id: string
  surface: string
  model: string
  provider: string
  byok: boolean
  status: number
  prompt_tokens: number
  completion_tokens: number
  cached_tokens: number
  cost: string
  usage_source: string
  latency_ms: number
  ttfb_ms: number | null
}

/** A USD decimal string in nano-USD, exactly. */
const nanoOf = (usd: string) => parseUsd(usd)!

const balanceOf = async (relay: RelayProcess, key: string) => {
  const answer = await fetch(`${relay.baseURL}/account`, { headers: { authorization: `Bearer ${key}` } })
  assert.equal(answer.status, 200)
  return (await answer.json()) as AccountView
}

const usageOf = async (relay: RelayProcess, key: string, limit = 50) => {
  const answer = await fetch(`${relay.baseURL}/account/usage?limit=${limit}`, { headers: { authorization: `Bearer ${key}` } })
  assert.equal(answer.status, 200)
  return ((await answer.json()) as { data: Array<UsageRecord> }).data
}

/** The mock's usage for one user message "w1 w2 ... wN": 12 prompt (3 cached), N completion. */
const expectedCost = (completion: number) => 9n * INPUT + 3n * CACHED + BigInt(completion) * OUTPUT


describe("prepaid balances and usage records", () => {
  const mock = new MockOpenAI({ "sk-billing": "ok" })
  let relay: RelayProcess

  before(async () => {
    const upstream = await mock.start()
    relay = await startRelay({ config: METERED_CONFIG, env: { OPENAI_API_KEY: "sk-billing", OPENAI_BASE_URL: upstream } })
  })

  after(async () => {
    await relay.stop()
    await mock.stop()
  })

  it("charges exactly the catalog price of the upstream's usage, streamed or not", async () => {
    const { account, key } = await createAccount(relay, { name: "exact", credits: "1.00" })
    assert.equal(account.balance, "1.000000000")
    const client = new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 })
    await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "one two three" }] })
    const stream = await client.chat.completions.create({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "four five" }] })
    for await (const _ of stream) void _
    const expected = 1_000_000_000n - expectedCost(3) - expectedCost(2)
    await eventually(async () => assert.equal(nanoOf((await balanceOf(relay, key)).balance!), expected))

    const records = await usageOf(relay, key)
    assert.equal(records.length, 2)
    const [streamed, plain] = records
    assert.deepEqual(
      { model: plain!.model, provider: plain!.provider, surface: plain!.surface, status: plain!.status, byok: plain!.byok },
      { model: "gpt-4o-mini", provider: "openai", surface: "chat.completions", status: 200, byok: false }
    )
    assert.deepEqual([plain!.prompt_tokens, plain!.cached_tokens, plain!.completion_tokens], [12, 3, 3])
    assert.equal(nanoOf(plain!.cost), expectedCost(3))
    assert.equal(nanoOf(streamed!.cost), expectedCost(2))
    assert.equal(streamed!.usage_source, "upstream")
    assert.ok(streamed!.ttfb_ms! > 0 && streamed!.latency_ms >= streamed!.ttfb_ms!)
  })

  it("answers 402 in OpenAI's shape when the balance cannot cover the reservation, sending nothing upstream", async () => {
    const { key } = await createAccount(relay, { name: "empty" })
    const before = mock.chats.length
    const answer = await chat(relay, key, { model: "gpt-4o-mini" })
    assert.equal(answer.status, 402)
    const body = (await answer.json()) as { error: { code: string; message: string } }
    assert.equal(body.error.code, "insufficient_balance")
    assert.match(body.error.message, /reservation of \$0\.\d{9}/)
    assert.equal(mock.chats.length, before)
    const records = await usageOf(relay, key)
    assert.equal(records[0]!.status, 402, "a refused request leaves a usage record too")
    assert.equal(records[0]!.cost, "0.000000000")
  })

  it("never overdraws: 50 concurrent requests against a balance that covers 5", async () => {
    const { account, key } = await createAccount(relay, { name: "concurrent" })
    // Each admitted answer takes 5 s, so all 50 admissions overlap even on a loaded machine.
    const held = { model: "mock-slow", max_tokens: 1_000, metadata: { pause_ms: "5000" } }
    const probe = (await (await chat(relay, key, held)).json()) as { error: { message: string } }
    const reservation = nanoOf(/reservation of \$(\d+\.\d{9})/.exec(probe.error.message)![1]!)
    const credit = reservation * 5n + reservation / 2n
    const usd = `${credit / 1_000_000_000n}.${(credit % 1_000_000_000n).toString().padStart(9, "0")}`
    assert.equal((await relay.admin("POST", `/admin/accounts/${account.id}/credits`, { amount: usd })).status, 200)
    await relay.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 1_000 })

    const answers = await Promise.all(Array.from({ length: 50 }, () => chat(relay, key, held)))
    const statuses = answers.map((r) => r.status)
    assert.equal(statuses.filter((s) => s === 200).length, 5, "only five reservations fit while all are in flight")
    assert.equal(statuses.filter((s) => s === 402).length, 45)
    await Promise.all(answers.map((r) => r.arrayBuffer()))
    await eventually(async () => {
      const balance = nanoOf((await balanceOf(relay, key)).balance!)
      assert.ok(balance >= 0n, `balance ${balance} below zero`)
      // mock-slow answers 100 words: 12 prompt tokens, 101 completion, no cached price for it.
      assert.equal(balance, credit - 5n * (12n * INPUT + 101n * OUTPUT))
    })
  })

  it("charges an aborted stream only for what it delivered", async () => {
    const { key } = await createAccount(relay, { name: "aborted", credits: "1.00" })
    const client = new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 })
    const controller = new AbortController()
    const stream = await client.chat.completions.create(
      { model: "mock-slow", stream: true, messages: [{ role: "user", content: "long" }] },
      { signal: controller.signal }
    )
    let received = 0
    for await (const _ of stream) if (++received === 5) controller.abort()
    await eventually(async () => {
      const [record] = await usageOf(relay, key)
      assert.ok(record, "the aborted request is recorded")
      assert.equal(record.usage_source, "estimated")
      assert.ok(record.completion_tokens >= 5 && record.completion_tokens < 50, `${record.completion_tokens} tokens delivered`)
      const cost = nanoOf(record.cost)
      assert.ok(cost > 0n && cost < 12n * INPUT + 101n * OUTPUT, "less than the whole answer")
      assert.equal(nanoOf((await balanceOf(relay, key)).balance!), 1_000_000_000n - cost)
    })
  })

  it("refuses a model without a price on the shared pool", async () => {
    const { key } = await createAccount(relay, { name: "unpriced", credits: "1.00" })
    const answer = await chat(relay, key, { model: "gpt-4.1-nano" })
    assert.equal(answer.status, 404)
    assert.equal(((await answer.json()) as { error: { code: string } }).error.code, "model_not_found")
  })

  it("records failed requests with their status and no charge", async () => {
    const { key } = await createAccount(relay, { name: "failing", credits: "1.00" })
    const answer = await chat(relay, key, { model: "mock-bad-request" })
    assert.equal(answer.status, 404, "mock-bad-request has no price here")
    const records = await usageOf(relay, key)
    assert.equal(records[0]!.status, 404)
    assert.equal(records[0]!.cost, "0.000000000")
  })

  it("records a malformed request against its caller, and tells a stranger 401 before judging its body", async () => {
    const { key } = await createAccount(relay, { name: "malformed", credits: "1.00" })
    const post = (authorization: string | undefined, body: string) =>
      fetch(`${relay.baseURL}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
        body
      })
    assert.equal((await post(`Bearer ${key}`, "{oops")).status, 400)
    assert.equal((await post(`Bearer ${key}`, JSON.stringify({ model: "gpt-4o-mini", messages: "hi" }))).status, 400)
    const records = await usageOf(relay, key)
    assert.deepEqual(records.map((r) => [r.status, r.model, r.cost]), [[400, "gpt-4o-mini", "0.000000000"], [400, "", "0.000000000"]])
    assert.equal((await post(undefined, "{oops")).status, 401)
  })

  it("books credits and corrections in the ledger, never overwriting", async () => {
    const { account } = await createAccount(relay, { name: "ledger", credits: 2 })
    const corrected = await relay.admin("POST", `/admin/accounts/${account.id}/credits`, { amount: "-0.5", note: "refund reversal" })
    assert.equal(corrected.status, 200)
    assert.equal(((await corrected.json()) as AccountView).balance, "1.500000000")
    const invalid = await relay.admin("POST", `/admin/accounts/${account.id}/credits`, { amount: "1.0000000001" })
    assert.equal(invalid.status, 400)
    assert.equal(((await invalid.json()) as { error: { param: string } }).error.param, "amount")
    const longNote = await relay.admin("POST", `/admin/accounts/${account.id}/credits`, { amount: "1", note: "n".repeat(501) })
    assert.equal(longNote.status, 400)
    const { error } = (await longNote.json()) as { error: { param: string; message: string } }
    assert.deepEqual([error.param, error.message], ["note", "note: expected at most 500 characters"])
    const misspelt = await relay.admin("POST", `/admin/accounts/${account.id}/credits`, { amount: "1", nots: "typo" })
    assert.equal(misspelt.status, 400)
    const unknown = ((await misspelt.json()) as { error: { param: string; message: string } }).error
    assert.deepEqual([unknown.param, unknown.message], ["nots", "nots: unknown field; expected one of amount, note"])
    assert.equal((await relay.admin("POST", "/admin/accounts/acct_missing/credits", { amount: "1" })).status, 404)
    const db = new Database(join(relay.dataDir, "relay.db"), { readonly: true })
    const rows = db.prepare("SELECT kind, amount_nano, note FROM ledger WHERE account_id = ? ORDER BY id").all(account.id)
    db.close()
    assert.deepEqual(rows, [
      { kind: "credit", amount_nano: 2_000_000_000, note: "opening credit" },
      { kind: "credit", amount_nano: -500_000_000, note: "refund reversal" }
    ])
  })

  it("refuses with a 400, writing nothing, an amount or a balance beyond 1e9 USD (past 64-bit nano-USD)", async () => {
    const refused = async (answer: Response, param: string) => {
      assert.equal(answer.status, 400)
      const { error } = (await answer.json()) as { error: { type: string; param: string; message: string } }
      assert.deepEqual([error.type, error.param], ["invalid_request_error", param])
      assert.match(error.message, new RegExp(`^${param}: .*1000000000 USD`))
    }
    const { account } = await createAccount(relay, { name: "huge" })
    const credits = `/admin/accounts/${account.id}/credits`
    await refused(await relay.admin("POST", credits, { amount: "100000000000" }), "amount")
    await refused(await relay.admin("POST", credits, { amount: 1e11 }), "amount")
    await refused(await relay.admin("POST", credits, { amount: "9000000000" }), "amount")
    await refused(await relay.admin("POST", credits, { amount: "9000000000" }), "amount")
    // Within the limit one at a time, not together.
    assert.equal((await relay.admin("POST", credits, { amount: "600000000" })).status, 200)
    await refused(await relay.admin("POST", credits, { amount: "600000000" }), "amount")
    assert.equal((await relay.admin("POST", credits, { amount: "-1600000000" })).status, 400)
    const shown = await relay.admin("GET", `/admin/accounts/${account.id}`)
    assert.equal(shown.status, 200)
    assert.equal(((await shown.json()) as AccountView).balance, "600000000.000000000")

    await refused(await relay.admin("POST", "/admin/accounts", { name: "big", credits: "99999999999" }), "credits")
    const accounts = ((await (await relay.admin("GET", "/admin/accounts")).json()) as { data: Array<AccountView> }).data
    assert.ok(!accounts.some((a) => a.name === "big"), "a refused opening credit creates no account")

    const db = new Database(join(relay.dataDir, "relay.db"), { readonly: true })
    const rows = db.prepare("SELECT amount_nano FROM ledger WHERE account_id = ?").safeIntegers(true).all(account.id)
    const balance = db.prepare("SELECT typeof(balance_nano) AS type, balance_nano FROM balances WHERE account_id = ?").safeIntegers(true).get(account.id)
    db.close()
    assert.deepEqual(rows, [{ amount_nano: 600_000_000n * 1_000_000_000n }])
    assert.deepEqual(balance, { type: "integer", balance_nano: 600_000_000n * 1_000_000_000n })
  })

  it("shows the account and its usage to its own key and to the admin", async () => {
    const { account, key } = await createAccount(relay, { name: "self", tier: "professional", credits: "3.25" })
    const self = await balanceOf(relay, key)
    assert.deepEqual(self, { id: account.id, name: "self", tier: "professional", limits: { rpm: 300, tpm: 500_000 }, balance: "3.250000000" })
    await chat(relay, key, { model: "echo-1" })
    await chat(relay, key, { model: "echo-1" })
    await eventually(async () => assert.equal((await usageOf(relay, key)).length, 2))
    assert.equal((await usageOf(relay, key, 1)).length, 1)
    const admin = (await (await relay.admin("GET", `/admin/accounts/${account.id}/usage?limit=5`)).json()) as { data: Array<UsageRecord> }
    assert.equal(admin.data.length, 2)
    assert.equal((await relay.admin("GET", `/admin/accounts/${account.id}/usage?limit=1000`)).status, 200)
    for (const limit of ["x", "0", "1001", "100000"]) {
      const admins = await relay.admin("GET", `/admin/accounts/${account.id}/usage?limit=${limit}`)
      const own = await fetch(`${relay.baseURL}/account/usage?limit=${limit}`, { headers: { authorization: `Bearer ${key}` } })
      for (const refused of [admins, own]) {
        assert.equal(refused.status, 400, `limit=${limit}`)
        const { error } = (await refused.json()) as { error: { param: string; message: string } }
        assert.deepEqual([error.param, error.message], ["limit", "limit: expected a whole number from 1 to 1000"])
      }
    }
    const anonymous = await fetch(`${relay.baseURL}/account`)
    assert.equal(anonymous.status, 401)
  })
})

describe("money across a restart", () => {
  it("a relay stopped right after answering has written the charge before it exits", async () => {
    const mock = new MockOpenAI({ "sk-stop": "ok" })
    const upstream = await mock.start()
    const relay = await startRelay({ config: METERED_CONFIG, env: { OPENAI_API_KEY: "sk-stop", OPENAI_BASE_URL: upstream }, keepData: true })
    try {
      const { account, key } = await createAccount(relay, { name: "stop", credits: "1" })
      const answer = await chat(relay, key, { model: "gpt-4o-mini", messages: [{ role: "user", content: "w1 w2 w3" }] })
      assert.equal(answer.status, 200)
      // At once: charges are written in batches a few milliseconds apart, and stopping must not lose one.
      await relay.stop()
      const db = new Database(join(relay.dataDir, "relay.db"))
      const charge = db.prepare("SELECT amount_nano FROM ledger WHERE account_id = ? AND kind = 'charge'").all(account.id)
      const usage = db.prepare("SELECT cost_nano FROM usage_records WHERE account_id = ?").all(account.id)
      db.close()
      assert.deepEqual(charge, [{ amount_nano: Number(expectedCost(3)) }])
      assert.deepEqual(usage, [{ cost_nano: Number(expectedCost(3)) }])
    } finally {
      await mock.stop()
      rmSync(relay.dataDir, { recursive: true, force: true })
    }
  })

  it("a stream still open when the drain time is up is cut, recorded and charged for what it delivered before the relay exits", async () => {
    const mock = new MockOpenAI({ "sk-drain": "ok" })
    const upstream = await mock.start()
    // The metered config with a one-second drain.
    const configDir = mkdtempSync(join(tmpdir(), "relay-drain-"))
    const config = join(configDir, "relay.config.ts")
    writeFileSync(config, `import metered from ${JSON.stringify(METERED_CONFIG)}\nexport default (relay) => ({ ...metered(relay), server: { drainSeconds: 1 } })\n`)
    const relay = await startRelay({ config, env: { OPENAI_API_KEY: "sk-drain", OPENAI_BASE_URL: upstream }, keepData: true })
    try {
      const { account, key } = await createAccount(relay, { name: "drained", credits: "1" })
      // mock-slow streams 100 chunks 30 ms apart: three seconds, longer than the drain.
      const answer = await chat(relay, key, { model: "mock-slow", stream: true })
      assert.equal(answer.status, 200)
      const reader = answer.body!.getReader()
      await reader.read()
      const exit = relay.stop("SIGTERM")
      const cut = await (async () => {
        try {
          while (!(await reader.read()).done);
          return false
        } catch {
          return true
        }
      })()
      assert.equal(await exit, 0)
      assert.ok(cut, "the client sees its stream cut, not a clean end")
      const db = new Database(join(relay.dataDir, "relay.db"))
      const usage = db.prepare("SELECT status, completion_tokens, cost_nano FROM usage_records WHERE account_id = ?").all(account.id) as Array<{ status: number; completion_tokens: number; cost_nano: number }>
      const charges = db.prepare("SELECT amount_nano FROM ledger WHERE account_id = ? AND kind = 'charge'").all(account.id) as Array<{ amount_nano: number }>
      db.close()
      assert.equal(usage.length, 1, "the cut stream is recorded")
      assert.ok(usage[0]!.completion_tokens > 0 && usage[0]!.completion_tokens < 100, `charged for what it delivered (${usage[0]!.completion_tokens} of 100)`)
      assert.deepEqual(charges, [{ amount_nano: usage[0]!.cost_nano }])
    } finally {
      await mock.stop()
      rmSync(relay.dataDir, { recursive: true, force: true })
      rmSync(configDir, { recursive: true, force: true })
    }
  })

  it("a relay killed mid-request leaves no money held and charges nothing for it", async () => {
    const mock = new MockOpenAI({ "sk-crash": "ok" })
    const upstream = await mock.start()
    const env = { OPENAI_API_KEY: "sk-crash", OPENAI_BASE_URL: upstream }
    const first = await startRelay({ config: METERED_CONFIG, env, keepData: true })
    let second: RelayProcess | undefined
    try {
      // Enough for one mock-slow reservation (1,000 output tokens at $0.60 per 1M), not two.
      const { account, key } = await createAccount(first, { name: "crash", credits: "0.001" })
      // A stream of mock-slow lasts 3 s, ample time on a busy machine for the checks below.
      const inFlight = chat(first, key, { model: "mock-slow", max_tokens: 1_000, stream: true }).catch(() => undefined)
      // Admitted once it reached the upstream (a fixed wait raced a busy machine's first request).
      await eventually(() => assert.equal(mock.chats.length, 1))
      const held = await chat(first, key, { model: "mock-slow", max_tokens: 1_000 })
      assert.equal(held.status, 402, "the first request's reservation holds the money while it runs")
      await first.stop("SIGKILL")
      await inFlight

      second = await startRelay({ config: METERED_CONFIG, env, dataDir: first.dataDir })
      const db = new Database(join(first.dataDir, "relay.db"))
      const row = db.prepare("SELECT balance_nano FROM balances WHERE account_id = ?").get(account.id)
      const charges = db.prepare("SELECT COUNT(*) AS n FROM ledger WHERE account_id = ? AND kind = 'charge'").get(account.id)
      db.close()
      assert.deepEqual(row, { balance_nano: 1_000_000 })
      assert.deepEqual(charges, { n: 0 })
      // Nothing is held after the restart: the same reservation fits again.
      const answer = await chat(second, key, { model: "mock-slow", max_tokens: 1_000 })
      assert.equal(answer.status, 200)
    } finally {
      // Stopped whatever failed above, so a failing run never leaves a relay holding the suite open.
      await first.stop("SIGKILL")
      await second?.stop()
      await mock.stop()
      rmSync(first.dataDir, { recursive: true, force: true })
    }
  })
})

describe("balances and limits on the Anthropic surface", () => {
  const claude = new MockAnthropic({ "sk-ant-billing": "ok" })
  let relay: RelayProcess

  before(async () => {
    const upstream = await claude.start()
    relay = await startRelay({ config: METERED_CONFIG, env: { ANTHROPIC_API_KEY: "sk-ant-billing", ANTHROPIC_BASE_URL: upstream } })
  })

  after(async () => {
    await relay.stop()
    await claude.stop()
  })

  it("charges cache reads and writes at their own rates, streamed or not", async () => {
    const { key } = await createAccount(relay, { name: "claude-exact", credits: "1.00" })
    const client = new Anthropic({ baseURL: relay.url, apiKey: key, maxRetries: 0 })
    await client.messages.create({ model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "one two" }] })
    await client.messages.stream({ model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "three" }] }).finalMessage()
    // The mock's usage: 11 uncached input, 5 cache writes, 40 cache reads; output one per word.
    // At $3 input, $3.75 cache write, $0.30 cache read, $15 output per 1M tokens, in nano-USD:
    const cost = (words: number) => 11n * 3_000n + 5n * 3_750n + 40n * 300n + BigInt(words) * 15_000n
    await eventually(async () => {
      assert.equal(nanoOf((await balanceOf(relay, key)).balance!), 1_000_000_000n - cost(2) - cost(1))
      const [streamed, plain] = await usageOf(relay, key)
      assert.deepEqual([plain!.surface, plain!.prompt_tokens, plain!.cached_tokens, plain!.completion_tokens], ["messages", 56, 40, 2])
      assert.equal(nanoOf(streamed!.cost), cost(1))
    })
  })

  it("settles an upstream's absurd usage, streamed or not: recorded, and charged at most the balance", async () => {
    const ask = { model: "claude-absurd-usage", max_tokens: 100, messages: [{ role: "user" as const, content: "hi" }] }
    const modes = {
      whole: (client: Anthropic) => client.messages.create(ask),
      stream: (client: Anthropic) => client.messages.stream(ask).finalMessage()
    }
    for (const [mode, send] of Object.entries(modes)) {
      const { key } = await createAccount(relay, { name: `claude-absurd-${mode}`, credits: "1.00" })
      await send(new Anthropic({ baseURL: relay.url, apiKey: key, maxRetries: 0 }))
      await eventually(async () => {
        const [record] = await usageOf(relay, key)
        assert.ok(record, `${mode}: the request is recorded`)
        // Input, cache reads and cache writes at a billion tokens each; a negative output is none.
        assert.deepEqual([record.prompt_tokens, record.cached_tokens, record.completion_tokens], [3e9, 1e9, 0], mode)
        assert.equal(record.cost, "1.000000000", `${mode}: the whole balance, not more`)
        assert.equal((await balanceOf(relay, key)).balance, "0.000000000", mode)
      })
    }
  })

  it("answers 402 and 429 in Anthropic's shape", async () => {
    const { account, key } = await createAccount(relay, { name: "claude-refused" })
    const client = new Anthropic({ baseURL: relay.url, apiKey: key, maxRetries: 0 })
    await assert.rejects(
      client.messages.create({ model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "hi" }] }),
      (error: unknown) => error instanceof Anthropic.APIError && error.status === 402 && (error.error as { error: { type: string } }).error.type === "billing_error"
    )
    await relay.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 1 })
    await assert.rejects(
      client.messages.create({ model: "claude-sonnet-4-6", max_tokens: 100, messages: [{ role: "user", content: "again" }] }),
      (error: unknown) =>
        error instanceof Anthropic.RateLimitError && (error.error as { error: { type: string } }).error.type === "rate_limit_error" &&
        error.headers?.get("retry-after") !== null && error.headers?.get("x-ratelimit-remaining") === "0"
    )
  })
})
