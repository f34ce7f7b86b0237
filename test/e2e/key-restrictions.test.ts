import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import Database from "better-sqlite3"
import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { parseUsd } from "../../core/index.ts"
import { type AccountView, chat } from "../helpers/accounts.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { eventually, ROOT, type RelayProcess, startRelay } from "../helpers/relay.ts"

const KEYS_CONFIG = join(ROOT, "test/fixtures/relay.keys-config.ts")
const DAY_MS = 86_400_000

interface KeyView {
  id: string
  key?: string
  name: string | null
  spend_limit: string | null
  spend_period: string | null
  models: Array<string> | null
  expires_at: string | null
  rpm: number | null
  tpm: number | null
  metadata: Record<string, unknown> | null
  spent?: string | null
}

const usd = (nano: bigint) => `${nano / 1_000_000_000n}.${(nano % 1_000_000_000n).toString().padStart(9, "0")}`

/** A refusal as the SDK raises it: its status, and the relay's code in the body (either API's shape). */
const refused = (call: () => Promise<unknown>, status: number, code: string) =>
  assert.rejects(call, (error: { status?: number; error?: unknown }) => {
    assert.equal(error.status, status, `expected ${status} ${code}, got ${error.status}: ${JSON.stringify(error.error)}`)
    assert.ok(JSON.stringify(error.error).includes(code), `expected ${code} in ${JSON.stringify(error.error)}`)
    return true
  })

const user = [{ role: "user" as const, content: "hello there" }]

/** One call per proxied surface, through the official SDKs, each on a model of the right kind. */
const surfaces = (relay: RelayProcess, key: string, models: { chat: string; embedding: string; image: string }) => {
  const openai = new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 })
  const byok = new OpenAI({ baseURL: `${relay.url}/byok/v1`, apiKey: key, maxRetries: 0 })
  const anthropic = new Anthropic({ baseURL: relay.url, apiKey: key, maxRetries: 0 })
  const drain = async (stream: AsyncIterable<unknown>) => {
    for await (const _ of stream) void _
  }
  return {
    "chat completions": () => openai.chat.completions.create({ model: models.chat, messages: user }),
    "chat completions, streamed": async () => drain(await openai.chat.completions.create({ model: models.chat, messages: user, stream: true })),
    messages: () => anthropic.messages.create({ model: models.chat, max_tokens: 50, messages: user }),
    "messages, streamed": () => anthropic.messages.stream({ model: models.chat, max_tokens: 50, messages: user }).finalMessage(),
    responses: () => openai.responses.create({ model: models.chat, input: "hello there", max_output_tokens: 50 }),
    "responses, streamed": async () => drain(await openai.responses.create({ model: models.chat, input: "hello there", max_output_tokens: 50, stream: true })),
    embeddings: () => openai.embeddings.create({ model: models.embedding, input: "hello there" }),
    images: () => openai.images.generate({ model: models.image, prompt: "a teapot" }),
    "RocketAIRoom chat": () => openai.post("/chat", { body: { model: models.chat, messages: user } }),
    "BYOK chat completions, streamed": async () => drain(await byok.chat.completions.create({ model: models.chat, messages: user, stream: true }))
  }
}

describe("key restrictions: spend limits, model lists, expiry, own limits, suspension and deletion", () => {
  const mock = new MockOpenAI({ "sk-keys": "ok" })
  const clockDir = mkdtempSync(join(tmpdir(), "relay-clock-"))
  const clockFile = join(clockDir, "now")
  let relay: RelayProcess

  const newAccount = async (name: string, credits = "100.00") => {
    const created = await relay.admin("POST", "/admin/accounts", { name, credits })
    assert.equal(created.status, 201, await created.clone().text())
    const account = (await created.json()) as AccountView
    // Room for the many requests of one test: only the key's limits are under test.
    assert.equal((await relay.admin("PATCH", `/admin/accounts/${account.id}`, { tier: "professional" })).status, 200)
    return account
  }
  const newKey = async (accountId: string, restrictions: Record<string, unknown>) => {
    const issued = await relay.admin("POST", `/admin/accounts/${accountId}/keys`, restrictions)
    assert.equal(issued.status, 201, await issued.clone().text())
    return (await issued.json()) as KeyView & { key: string }
  }
  const keysOf = async (accountId: string) => ((await (await relay.admin("GET", `/admin/accounts/${accountId}/keys`)).json()) as { data: Array<KeyView> }).data

  before(async () => {
    const upstream = await mock.start()
    relay = await startRelay({ config: KEYS_CONFIG, env: { OPENAI_API_KEY: "sk-keys", OPENAI_BASE_URL: upstream, RELAY_TEST_CLOCK_FILE: clockFile } })
  })

  after(async () => {
    await relay.stop()
    await mock.stop()
    rmSync(clockDir, { recursive: true, force: true })
  })

  it("keeps a key's restrictions as given, shows them without the key, and refuses bad ones with a 400 naming the field", async () => {
    const account = await newAccount("restrictions")
    const key = await newKey(account.id, {
      name: "ci",
      spend_limit: "5",
      spend_period: "month",
      models: ["echo-cheap", "claude-*"],
      expires_at: "2999-01-01T00:00:00Z",
      rpm: 10,
      tpm: 5_000,
      metadata: { team: "platform" }
    })
    assert.match(key.key, /^sk-rr-/)
    const expected = {
      name: "ci",
      spend_limit: "5.000000000",
      spend_period: "month",
      models: ["echo-cheap", "claude-*"],
      expires_at: "2999-01-01T00:00:00.000Z",
      rpm: 10,
      tpm: 5_000,
      metadata: { team: "platform" }
    }
    const [listed] = await keysOf(account.id)
    assert.deepEqual({ ...listed, id: undefined, account_id: undefined, prefix: undefined, created_at: undefined, revoked_at: undefined, spent: undefined }, { ...expected, id: undefined, account_id: undefined, prefix: undefined, created_at: undefined, revoked_at: undefined, spent: undefined })
    assert.equal(listed!.spent, "0.000000000")
    assert.ok(!JSON.stringify(listed).includes(key.key), "the plaintext key is never listed")

    const patched = await relay.admin("PATCH", `/admin/keys/${key.id}`, { spend_limit: null, models: ["echo-1"] })
    assert.equal(patched.status, 200)
    assert.deepEqual([((await patched.json()) as KeyView).spend_limit, (await keysOf(account.id))[0]!.models], [null, ["echo-1"]])

    for (const [body, param] of [
      [{ spend_limit: "-1" }, "spend_limit"],
      [{ spend_limit: "abc" }, "spend_limit"],
      [{ spend_period: "year" }, "spend_period"],
      [{ models: [] }, "models"],
      [{ expires_at: "tomorrow" }, "expires_at"],
      [{ rpm: 5_000 }, "rpm"],
      [{ tpm: 0 }, "tpm"],
      [{ colour: "red" }, "colour"]
    ] as const) {
      const answer = await relay.admin("POST", `/admin/accounts/${account.id}/keys`, body)
      assert.equal(answer.status, 400, JSON.stringify(body))
      assert.ok(((await answer.json()) as { error: { message: string } }).error.message.includes(param), JSON.stringify(body))
    }
    assert.equal((await relay.admin("PATCH", "/admin/keys/key_none", { rpm: 1 })).status, 404)
  })

  it("refuses a model outside the key's list with 403 model_not_allowed on every surface, and lists only its models", async () => {
    const account = await newAccount("models")
    const { key } = await newKey(account.id, { models: ["echo-cheap", "claude-*"] })
    for (const [surface, call] of Object.entries(surfaces(relay, key, { chat: "echo-1", embedding: "echo-embed", image: "echo-image" }))) {
      await refused(call, 403, "model_not_allowed").catch((error: Error) => assert.fail(`${surface}: ${error.message}`))
    }
    // Ids and globs in the list are allowed, on every surface.
    const allowed = surfaces(relay, key, { chat: "claude-echo", embedding: "echo-embed", image: "echo-image" })
    await allowed["chat completions, streamed"]()
    await allowed.messages()
    await new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 }).chat.completions.create({ model: "echo-cheap", messages: user })

    const listed = await new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 }).models.list()
    assert.deepEqual(listed.data.map((model) => model.id).sort(), ["claude-echo", "echo-cheap"])
    const one = await fetch(`${relay.baseURL}/models/echo-1`, { headers: { authorization: `Bearer ${key}` } })
    assert.equal(one.status, 404)
  })

  it("refuses an expired key with 401 key_expired on every surface", async () => {
    const account = await newAccount("expiry")
    const { id, key } = await newKey(account.id, { expires_at: "2999-01-01T00:00:00Z" })
    await new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 }).chat.completions.create({ model: "echo-1", messages: user })
    assert.equal((await relay.admin("PATCH", `/admin/keys/${id}`, { expires_at: new Date(Date.now() - 1_000).toISOString() })).status, 200)
    for (const [surface, call] of Object.entries(surfaces(relay, key, { chat: "echo-1", embedding: "echo-embed", image: "echo-image" }))) {
      await refused(call, 401, "key_expired").catch((error: Error) => assert.fail(`${surface}: ${error.message}`))
    }
  })

  it("refuses a key past its spend limit with 402 key_spend_limit_exceeded on every surface, the balance untouched", async () => {
    const account = await newAccount("spent")
    const { key } = await newKey(account.id, { spend_limit: "0" })
    for (const [surface, call] of Object.entries(surfaces(relay, key, { chat: "echo-1", embedding: "echo-embed", image: "echo-image" }))) {
      await refused(call, 402, "key_spend_limit_exceeded").catch((error: Error) => assert.fail(`${surface}: ${error.message}`))
    }
    const view = (await (await fetch(`${relay.baseURL}/account`, { headers: { authorization: `Bearer ${key}` } })).json()) as AccountView
    assert.equal(view.balance, "100.000000000", "the account's balance is not what refused them")
  })

  it("counts streamed, BYOK and every surface's spend against the key, and shows it against the limit", async () => {
    const account = await newAccount("counted")
    const { id, key } = await newKey(account.id, { spend_limit: "10" })
    const calls = surfaces(relay, key, { chat: "echo-1", embedding: "echo-embed", image: "echo-image" })
    await calls["chat completions, streamed"]()
    await calls["messages, streamed"]()
    await calls["BYOK chat completions, streamed"]()
    await calls.embeddings()
    const usage = ((await (await relay.admin("GET", `/admin/accounts/${account.id}/usage`)).json()) as { data: Array<{ cost: string; byok: boolean }> }).data
    const charged = usage.reduce((sum, record) => sum + parseUsd(record.cost)!, 0n)
    assert.ok(usage.every((record) => parseUsd(record.cost)! > 0n), "each surface, BYOK too, cost something")
    const [listed] = (await keysOf(account.id)).filter((k) => k.id === id)
    assert.equal(listed!.spent, usd(charged), "the key's spend is exactly what its requests were charged")
  })

  it("never overruns a key's limit: 50 concurrent requests against a limit that covers 5", async () => {
    const account = await newAccount("concurrent")
    // Streams that answer a word, then pause: every admitted one is still in flight (holding its
    // reservation) when the last of the 50 is admitted or refused, however loaded the machine.
    const body = { model: "mock-pause", max_tokens: 1_000, stream: true, metadata: { pause_ms: "10000" } }
    const probeKey = await newKey(account.id, { spend_limit: "0" })
    const probe = (await (await chat(relay, probeKey.key, body)).json()) as { error: { message: string } }
    const reservation = parseUsd(/reservation of \$(\d+\.\d{9})/.exec(probe.error.message)![1]!)!
    const limit = reservation * 5n + reservation / 2n
    const { id, key } = await newKey(account.id, { spend_limit: usd(limit) })

    const answers = await Promise.all(Array.from({ length: 50 }, () => chat(relay, key, body)))
    const statuses = answers.map((answer) => answer.status)
    assert.equal(statuses.filter((status) => status === 200).length, 5, `only five reservations fit while all are in flight: ${statuses}`)
    const refusals = answers.filter((answer) => answer.status !== 200)
    assert.ok(refusals.every((answer) => answer.status === 402))
    for (const answer of refusals) assert.equal(((await answer.json()) as { error: { code: string } }).error.code, "key_spend_limit_exceeded")
    await Promise.all(answers.filter((answer) => answer.status === 200).map((answer) => answer.text()))
    const spent = parseUsd((await keysOf(account.id)).find((k) => k.id === id)!.spent!)!
    assert.ok(spent > 0n && spent <= limit, `spent ${spent} within the limit ${limit}`)
  })

  it("never ends a key past its limit when a request costs more than it reserved, and still charges the account all of it", async () => {
    const account = await newAccount("overrun")
    // The mock answers a word per word of the prompt, whatever max_tokens says: the real output
    // is far more than the one token reserved for it.
    const words = Array.from({ length: 400 }, (_, i) => `w${i}`).join(" ")
    const body = { model: "mock-pause", max_tokens: 1, messages: [{ role: "user", content: words }], metadata: { pause_ms: "0" } }
    const probeKey = await newKey(account.id, { spend_limit: "0" })
    const probe = (await (await chat(relay, probeKey.key, body)).json()) as { error: { message: string } }
    const reservation = parseUsd(/reservation of \$(\d+\.\d{9})/.exec(probe.error.message)![1]!)!
    const limit = reservation + reservation / 2n
    const { id, key } = await newKey(account.id, { spend_limit: usd(limit) })

    const answered = await chat(relay, key, body)
    assert.equal(answered.status, 200, await answered.clone().text())
    const usage = ((await (await relay.admin("GET", `/admin/accounts/${account.id}/usage`)).json()) as { data: Array<{ cost: string }> }).data
    const cost = parseUsd(usage[0]!.cost)!
    assert.ok(cost > limit, `the request really cost ${cost}, past the key's limit of ${limit}`)
    const view = (await (await fetch(`${relay.baseURL}/account`, { headers: { authorization: `Bearer ${key}` } })).json()) as AccountView
    assert.equal(view.balance, usd(100_000_000_000n - cost), "the account paid the whole cost")
    assert.equal((await keysOf(account.id)).find((k) => k.id === id)!.spent, usd(limit), "the key's spend stops at its limit")
    const after = await chat(relay, key, { ...body, messages: user })
    assert.equal(after.status, 402)
    assert.equal(((await after.json()) as { error: { code: string } }).error.code, "key_spend_limit_exceeded")
  })

  it("starts a key's daily limit afresh at the next UTC day (the relay's billing clock moved on)", async () => {
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS + 12 * 3_600_000
    writeFileSync(clockFile, String(today))
    try {
      const account = await newAccount("daily")
      const probeKey = await newKey(account.id, { spend_limit: "0" })
      const probe = (await (await chat(relay, probeKey.key, { model: "echo-1", max_tokens: 50 })).json()) as { error: { message: string } }
      const reservation = parseUsd(/reservation of \$(\d+\.\d{9})/.exec(probe.error.message)![1]!)!
      const { key } = await newKey(account.id, { spend_limit: usd(reservation * 2n), spend_period: "day" })
      // Requests are served until what they spent today leaves no room for another reservation.
      let served = 0
      let last = await chat(relay, key, { model: "echo-1", max_tokens: 50 })
      for (; last.status === 200 && served < 200; last = await chat(relay, key, { model: "echo-1", max_tokens: 50 })) served++
      assert.ok(served >= 1)
      assert.equal(last.status, 402)
      assert.equal(((await last.json()) as { error: { code: string } }).error.code, "key_spend_limit_exceeded")
      // One millisecond before midnight, UTC: still today.
      writeFileSync(clockFile, String(Math.floor(today / DAY_MS) * DAY_MS + DAY_MS - 1))
      assert.equal((await chat(relay, key, { model: "echo-1", max_tokens: 50 })).status, 402)
      writeFileSync(clockFile, String(Math.floor(today / DAY_MS) * DAY_MS + DAY_MS))
      assert.equal((await chat(relay, key, { model: "echo-1", max_tokens: 50 })).status, 200, "a new day, a new allowance")
    } finally {
      rmSync(clockFile, { force: true })
    }
  })

  it("applies a key's own rpm within its account's, with the key's window in the headers", async () => {
    const account = await newAccount("rpm")
    const { key } = await newKey(account.id, { rpm: 2 })
    const first = await chat(relay, key, { model: "echo-1", max_tokens: 20 })
    assert.equal(first.headers.get("x-ratelimit-limit"), "2")
    assert.equal((await chat(relay, key, { model: "echo-1", max_tokens: 20 })).status, 200)
    const third = await chat(relay, key, { model: "echo-1", max_tokens: 20 })
    assert.equal(third.status, 429)
    // The account's other keys keep the account's own limit.
    const other = await newKey(account.id, {})
    const answer = await chat(relay, other.key, { model: "echo-1", max_tokens: 20 })
    assert.equal(answer.status, 200)
    assert.equal(answer.headers.get("x-ratelimit-limit"), "1000")
  })

  it("counts no request against a key's own rpm when its account's window refuses it", async () => {
    const account = await newAccount("rpm-undo")
    assert.equal((await relay.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 3 })).status, 200)
    const { key } = await newKey(account.id, { rpm: 2 })
    const other = await newKey(account.id, {})
    for (let i = 0; i < 2; i++) assert.equal((await chat(relay, other.key, { model: "echo-1", max_tokens: 20 })).status, 200)
    // The account's third request of the minute, the key's first.
    assert.equal((await chat(relay, key, { model: "echo-1", max_tokens: 20 })).status, 200)
    // The key's window admits the key's second, then the account's refuses it: the key's window takes it back.
    assert.equal((await chat(relay, key, { model: "echo-1", max_tokens: 20 })).status, 429)
    assert.equal((await relay.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 10 })).status, 200)
    const second = await chat(relay, key, { model: "echo-1", max_tokens: 20 })
    assert.equal(second.status, 200, "the refused request was not counted against the key")
    assert.equal(second.headers.get("x-ratelimit-remaining"), "0")
  })

  it("lets a user make a key no wider than their own through the account API", async () => {
    const account = await newAccount("self-service")
    const parent = await newKey(account.id, { models: ["echo-cheap", "claude-*"], spend_limit: "20", spend_period: "month" })
    const make = (key: string, body: Record<string, unknown>) =>
      fetch(`${relay.baseURL}/account/keys`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) })
    const made = await make(parent.key, { name: "ci job", models: ["echo-cheap"], spend_limit: "5" })
    assert.equal(made.status, 201)
    const child = (await made.json()) as KeyView & { key: string }
    assert.deepEqual([child.models, child.spend_limit, child.spend_period], [["echo-cheap"], "5.000000000", "month"], "the period is the parent's")
    await refused(() => new OpenAI({ baseURL: relay.baseURL, apiKey: child.key, maxRetries: 0 }).chat.completions.create({ model: "claude-echo", messages: user }), 403, "model_not_allowed")

    for (const [body, param] of [
      [{ models: ["echo-1"] }, "models"],
      [{ spend_limit: "50" }, "spend_limit"],
      [{ spend_limit: null }, "spend_limit"],
      [{ models: null }, "models"]
    ] as const) {
      const answer = await make(parent.key, body)
      assert.equal(answer.status, 400, JSON.stringify(body))
      assert.ok(((await answer.json()) as { error: { message: string } }).error.message.includes(param))
    }
    // Omitted fields take the parent's restrictions, never none.
    const inherited = (await (await make(parent.key, {})).json()) as KeyView
    assert.deepEqual([inherited.models, inherited.spend_limit], [["echo-cheap", "claude-*"], "20.000000000"])
    const listed = (await (await fetch(`${relay.baseURL}/account/keys`, { headers: { authorization: `Bearer ${child.key}` } })).json()) as { data: Array<KeyView> }
    assert.equal(listed.data.length, 3, "the parent and the two keys made, none of the refused")
    // A restricted key may not revoke its parent.
    const revoke = await fetch(`${relay.baseURL}/account/keys/${parent.id}`, { method: "DELETE", headers: { authorization: `Bearer ${child.key}` } })
    assert.equal(revoke.status, 404)
  })

  it("suspends an account (every key 403 account_suspended, a stream already open finishes) until it is resumed", async () => {
    const account = await newAccount("suspended")
    const { key } = await newKey(account.id, {})
    const openai = new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 })
    const stream = await openai.chat.completions.create({ model: "mock-slow", max_tokens: 500, messages: user, stream: true })
    const chunks = stream[Symbol.asyncIterator]()
    assert.equal((await chunks.next()).done, false)
    const suspended = await relay.admin("POST", `/admin/accounts/${account.id}/suspend`)
    assert.equal(suspended.status, 200)
    assert.ok(((await suspended.json()) as { suspended_at: string | null }).suspended_at)
    for (const [surface, call] of Object.entries(surfaces(relay, key, { chat: "echo-1", embedding: "echo-embed", image: "echo-image" }))) {
      await refused(call, 403, "account_suspended").catch((error: Error) => assert.fail(`${surface}: ${error.message}`))
    }
    assert.equal((await fetch(`${relay.baseURL}/account`, { headers: { authorization: `Bearer ${key}` } })).status, 403)
    let text = ""
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) text += next.value.choices[0]?.delta.content ?? ""
    assert.match(text, /w99/, "the stream opened before the suspension ran to its end")

    assert.equal((await relay.admin("POST", `/admin/accounts/${account.id}/resume`)).status, 200)
    await openai.chat.completions.create({ model: "echo-1", messages: user })
    assert.equal((await relay.admin("POST", "/admin/accounts/acct_none/suspend")).status, 404)
  })

  it("deletes an account: its keys revoked, the account gone, its usage and ledger kept", async () => {
    const account = await newAccount("deleted")
    const { key } = await newKey(account.id, {})
    await new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 }).chat.completions.create({ model: "echo-1", messages: user })
    assert.equal((await relay.admin("DELETE", `/admin/accounts/${account.id}`)).status, 204)
    await eventually(async () => assert.equal((await fetch(`${relay.baseURL}/account`, { headers: { authorization: `Bearer ${key}` } })).status, 401))
    assert.equal((await relay.admin("GET", `/admin/accounts/${account.id}`)).status, 404)
    const listed = (await (await relay.admin("GET", "/admin/accounts")).json()) as { data: Array<AccountView> }
    assert.ok(!listed.data.some((a) => a.id === account.id))
    assert.equal((await relay.admin("DELETE", `/admin/accounts/${account.id}`)).status, 404)
    // The same name may be used again.
    assert.equal((await relay.admin("POST", "/admin/accounts", { name: "deleted" })).status, 201)

    const db = new Database(join(relay.dataDir, "relay.db"), { readonly: true })
    try {
      const ledger = db.prepare("SELECT COUNT(*) AS n FROM ledger WHERE account_id = ?").get(account.id) as { n: number }
      const usage = db.prepare("SELECT COUNT(*) AS n FROM usage_records WHERE account_id = ?").get(account.id) as { n: number }
      assert.ok(ledger.n >= 2 && usage.n >= 1, "the books are kept")
    } finally {
      db.close()
    }
  })

  it("shows key spend and refusals in /metrics by bounded labels only, never a key or an account", async () => {
    const text = await (await relay.admin("GET", "/metrics")).text()
    const value = (series: string) => {
      const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `))
      return line === undefined ? 0 : Number(line.slice(series.length + 1))
    }
    for (const reason of ["spend_limit", "model_not_allowed", "expired", "account_suspended"]) {
      assert.ok(value(`relay_key_refusals_total{reason="${reason}"}`) > 0, `refusals for ${reason}`)
    }
    for (const limit of ["none", "day", "lifetime"]) assert.ok(value(`relay_key_spend_usd_total{limit="${limit}"}`) > 0, `spend of keys limited: ${limit}`)
    const series = text.split("\n").filter((line) => line.startsWith("relay_key_"))
    assert.ok(series.every((line) => !/key_[0-9A-Za-z]{16}|acct_|sk-rr-/.test(line)), series.join("\n"))
  })

  it("shows the operator spend per account and per model over time", async () => {
    const account = await newAccount("spend-report")
    const { key } = await newKey(account.id, {})
    await new OpenAI({ baseURL: relay.baseURL, apiKey: key, maxRetries: 0 }).chat.completions.create({ model: "echo-cheap", messages: user })
    const usage = ((await (await relay.admin("GET", `/admin/accounts/${account.id}/usage`)).json()) as { data: Array<{ cost: string }> }).data
    const today = new Date().toISOString().slice(0, 10)
    const byAccount = ((await (await relay.admin("GET", "/admin/spend?by=account&days=7")).json()) as { data: Array<{ day: string; account_id: string; cost: string }> }).data
    assert.deepEqual(byAccount.filter((row) => row.account_id === account.id), [{ day: today, account_id: account.id, cost: usage[0]!.cost }])
    const byModel = ((await (await relay.admin("GET", "/admin/spend?by=model&days=1")).json()) as { data: Array<{ day: string; model: string; cost: string }> }).data
    assert.ok(byModel.some((row) => row.model === "echo-cheap" && parseUsd(row.cost)! >= parseUsd(usage[0]!.cost)!))
    assert.ok(byModel.every((row) => row.day === today))
    assert.equal((await relay.admin("GET", "/admin/spend?days=0")).status, 400)
    assert.equal((await relay.admin("GET", "/admin/spend?by=key")).status, 400)
  })
})
