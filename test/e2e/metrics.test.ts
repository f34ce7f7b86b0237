import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import { chat, createAccount } from "../helpers/accounts.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { ADMIN_KEY, eventually, type RelayProcess, ROOT, startRelay } from "../helpers/relay.ts"

const WEB_CONFIG = `${ROOT}/test/fixtures/relay.web-config.ts`

interface Sample {
  readonly name: string
  readonly labels: Record<string, string>
  readonly value: number
}

/** Parses the Prometheus text format; label values unescaped. */
const parse = (text: string): Array<Sample> =>
  text.split("\n").filter((line) => line !== "" && !line.startsWith("#")).map((line) => {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    assert.ok(match, `a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const pair of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!.replace(/\\n/g, "\n").replace(/\\"/g, "\"").replace(/\\\\/g, "\\")
    }
    return { name: match[1]!, labels, value: Number(match[3]) }
  })

/** The value of the one series of `name` whose labels include `labels` (0 when absent). */
const valueOf = (samples: Array<Sample>, name: string, labels: Record<string, string> = {}): number => {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  assert.ok(found.length <= 1, `one series of ${name} ${JSON.stringify(labels)}, got ${found.length}`)
  return found[0]?.value ?? 0
}

describe("GET /metrics: Prometheus counters that move with traffic", () => {
  // Slot 0 fails with 500, so the first request fails over to slot 1 and slot 0 rests.
  const mock = new MockOpenAI({ "sk-pool-failing": "fail500", "sk-pool-ok": "ok" })
  let relay: RelayProcess
  const scrape = async () => {
    const response = await fetch(`${relay.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    assert.equal(response.status, 200)
    return parse(await response.text())
  }

  before(async () => {
    const upstream = await mock.start()
    relay = await startRelay({ config: WEB_CONFIG, env: { OPENAI_API_KEY: "sk-pool-failing,sk-pool-ok", OPENAI_BASE_URL: upstream } })
  })

  after(async () => {
    await relay.stop()
    await mock.stop()
  })

  it("needs the admin key, and speaks the text exposition format", async () => {
    assert.equal((await fetch(`${relay.url}/metrics`)).status, 401)
    assert.equal((await fetch(`${relay.url}/metrics`, { headers: { authorization: "Bearer wrong" } })).status, 401)
    const response = await fetch(`${relay.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    assert.equal(response.status, 200)
    assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8")
    const text = await response.text()
    for (const name of ["relay_requests_total", "relay_tokens_total", "relay_cost_usd_total", "relay_upstream_key_failures_total", "relay_limiter_rejections_total"]) {
      assert.match(text, new RegExp(`^# HELP ${name} .+\n# TYPE ${name} counter$`, "m"))
    }
    assert.match(text, /^# TYPE relay_request_duration_seconds histogram$/m)
    assert.match(text, /^# TYPE relay_time_to_first_byte_seconds histogram$/m)
    assert.match(text, /^# TYPE relay_open_streams gauge\nrelay_open_streams 0$/m)
  })

  it("counts requests, tokens, cost, latency and the failed-over key", async () => {
    const { account, key } = await createAccount(relay, { name: "metrics-traffic", credits: "1.00" })
    const before = await scrape()
    const plain = await chat(relay, key, { model: "gpt-4o-mini", messages: [{ role: "user", content: "one two three" }] })
    assert.equal(plain.status, 200)
    const streamed = await chat(relay, key, { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "four five" }] })
    assert.equal(streamed.status, 200)
    await streamed.text()
    const unknown = await chat(relay, key, { model: "no-such-model-1234" })
    assert.equal(unknown.status, 404)

    const series = { surface: "chat.completions", model: "gpt-4o-mini", provider: "openai", byok: "false", status: "200" }
    await eventually(async () => {
      const now = await scrape()
      assert.equal(valueOf(now, "relay_requests_total", series) - valueOf(before, "relay_requests_total", series), 2)
    })
    const after = await scrape()
    const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels)

    // The mock counts 11 + one per message as prompt, and one per word as completion.
    assert.equal(delta("relay_tokens_total", { model: "gpt-4o-mini", provider: "openai", kind: "prompt" }), 24)
    assert.equal(delta("relay_tokens_total", { model: "gpt-4o-mini", provider: "openai", kind: "completion" }), 5)
    assert.equal(delta("relay_tokens_total", { model: "gpt-4o-mini", provider: "openai", kind: "cached" }), 6)
    // The model label never carries a name outside the catalog.
    assert.equal(delta("relay_requests_total", { model: "other", provider: "none", status: "404" }), 1)
    assert.ok(!after.some((s) => s.labels.model === "no-such-model-1234"))

    // Cost is what billing charged, to the nano-USD.
    const usage = (await (await relay.admin("GET", `/admin/accounts/${account.id}/usage`)).json()) as { data: Array<{ model: string; cost: string }> }
    const charged = usage.data.filter((r) => r.model === "gpt-4o-mini").reduce((sum, r) => sum + Number(r.cost), 0)
    assert.ok(charged > 0)
    assert.ok(Math.abs(delta("relay_cost_usd_total", { model: "gpt-4o-mini", provider: "openai" }) - charged) < 1e-12)

    assert.ok(delta("relay_request_duration_seconds_count", { surface: "chat.completions", provider: "openai" }) >= 2)
    assert.equal(
      valueOf(after, "relay_request_duration_seconds_bucket", { surface: "chat.completions", provider: "openai", le: "+Inf" }),
      valueOf(after, "relay_request_duration_seconds_count", { surface: "chat.completions", provider: "openai" })
    )
    assert.ok(delta("relay_time_to_first_byte_seconds_count", { surface: "chat.completions", provider: "openai" }) >= 2)
    assert.ok(valueOf(after, "relay_upstream_key_failures_total", { provider: "openai", owner: "shared", slot: "0", reason: "server_error" }) >= 1)
    assert.equal(valueOf(after, "relay_upstream_key_failures_total", { slot: "1" }), 0, "the healthy key never failed")
  })

  it("counts rate-limit refusals by tier", async () => {
    const { account, key } = await createAccount(relay, { name: "metrics-limited", credits: "1.00" })
    assert.equal((await relay.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 1 })).status, 200)
    const before = await scrape()
    assert.equal((await chat(relay, key, { model: "echo-1" })).status, 200)
    assert.equal((await chat(relay, key, { model: "echo-1" })).status, 429)
    await eventually(async () => {
      const after = await scrape()
      assert.equal(valueOf(after, "relay_limiter_rejections_total", { tier: "starter" }) - valueOf(before, "relay_limiter_rejections_total", { tier: "starter" }), 1)
      const refused = { model: "echo-1", provider: "echo", status: "429" }
      assert.equal(valueOf(after, "relay_requests_total", refused) - valueOf(before, "relay_requests_total", refused), 1)
    })
  })

  it("shows a stream as open while it runs, and closed once it ends", async () => {
    const { key } = await createAccount(relay, { name: "metrics-stream", credits: "1.00" })
    const streaming = await chat(relay, key, { model: "mock-slow", stream: true })
    assert.equal(streaming.status, 200)
    assert.equal(valueOf(await scrape(), "relay_open_streams"), 1)
    await streaming.text()
    await eventually(async () => assert.equal(valueOf(await scrape(), "relay_open_streams"), 0))
  })

  it("counts Responses API requests under their own surface", async () => {
    const { key } = await createAccount(relay, { name: "metrics-responses", credits: "1.00" })
    const series = { surface: "responses", model: "echo-1", provider: "echo", byok: "false", status: "200" }
    const before = valueOf(await scrape(), "relay_requests_total", series)
    const answer = await fetch(`${relay.baseURL}/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "echo-1", input: "count me" })
    })
    assert.equal(answer.status, 200)
    assert.equal(((await answer.json()) as { output: Array<{ content: Array<{ text: string }> }> }).output[0]!.content[0]!.text, "count me")
    await eventually(async () => assert.equal(valueOf(await scrape(), "relay_requests_total", series) - before, 1))
  })
})

describe("GET /metrics: the config switch and the missing admin key", () => {
  it("is open with metrics({ public: true }), and absent without an admin key otherwise", async () => {
    const open = await startRelay({ config: WEB_CONFIG, env: { TEST_METRICS_PUBLIC: "1" } })
    try {
      const response = await fetch(`${open.url}/metrics`)
      assert.equal(response.status, 200)
      assert.match(await response.text(), /^relay_open_streams 0$/m)
    } finally {
      await open.stop()
    }
    const closed = await startRelay({ config: WEB_CONFIG, env: { RELAY_ADMIN_KEY: "" } })
    try {
      assert.equal((await fetch(`${closed.url}/metrics`)).status, 404)
    } finally {
      await closed.stop()
    }
  })
})
