import assert from "node:assert/strict"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { chat, createAccount } from "../helpers/accounts.ts"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { ROOT, type RelayProcess, startRelay } from "../helpers/relay.ts"

const METERED_CONFIG = join(ROOT, "test/fixtures/relay.metered-config.ts")
const HEADERS = ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens"]

describe("rate limits per account (RPM and TPM)", () => {
  const mock = new MockOpenAI({ "sk-limits": "ok" })
  let relay: RelayProcess

  before(async () => {
    const upstream = await mock.start()
    relay = await startRelay({ config: METERED_CONFIG, env: { OPENAI_API_KEY: "sk-limits", OPENAI_BASE_URL: upstream } })
  })

  after(async () => {
    await relay.stop()
    await mock.stop()
  })

  it("admits exactly 60 of 70 requests a minute on a starter key, with the headers on every answer", async () => {
    const { key } = await createAccount(relay, { name: "starter-burst" })
    const answers: Array<Response> = []
    for (let i = 0; i < 70; i++) answers.push(await chat(relay, key, { model: "echo-1" }))
    const statuses = answers.map((r) => r.status)
    assert.deepEqual(statuses, [...Array(60).fill(200), ...Array(10).fill(429)])
    for (const answer of answers) {
      for (const header of HEADERS) assert.match(answer.headers.get(header) ?? "", /^\d+$/, `${header} on ${answer.status}`)
      assert.equal(answer.headers.get("x-ratelimit-limit"), "60")
      assert.equal(answer.headers.get("x-ratelimit-limit-tokens"), "100000")
    }
    const remaining = answers.map((r) => Number(r.headers.get("x-ratelimit-remaining")))
    assert.deepEqual(remaining.slice(0, 60), Array.from({ length: 60 }, (_, i) => 59 - i), "each request spends one")
    assert.ok(remaining.every((value, i) => i === 0 || value <= remaining[i - 1]!), "Remaining never increases within the burst")
    assert.deepEqual(remaining.slice(60), Array(10).fill(0))
    const refused = answers[65]!
    const retryAfter = Number(refused.headers.get("retry-after"))
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`)
    assert.ok(Number(refused.headers.get("x-ratelimit-reset")) >= 1)
    const body = (await refused.json()) as { error: { code: string; type: string; message: string } }
    assert.equal(body.error.code, "rate_limit_exceeded")
    assert.match(body.error.message, /60 requests per minute/)
  })

  it("never admits more than the limit among concurrent requests", async () => {
    const { account, key } = await createAccount(relay, { name: "concurrent", credits: "1.00" })
    await relay.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 10 })
    const answers = await Promise.all(Array.from({ length: 20 }, () => chat(relay, key, { model: "gpt-4o-mini" })))
    assert.equal(answers.filter((r) => r.status === 200).length, 10)
    assert.equal(answers.filter((r) => r.status === 429).length, 10)
  })

  it("counts every key of an account against the same window", async () => {
    const { account, key } = await createAccount(relay, { name: "two-keys" })
    await relay.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 3 })
    const second = ((await (await relay.admin("POST", `/admin/accounts/${account.id}/keys`, {})).json()) as { key: string }).key
    const statuses = []
    for (const k of [key, second, key, second]) statuses.push((await chat(relay, k, { model: "echo-1" })).status)
    assert.deepEqual(statuses, [200, 200, 200, 429])
  })

  it("applies an rpm override on the next request", async () => {
    const { account, key } = await createAccount(relay, { name: "override" })
    const before = await chat(relay, key, { model: "echo-1" })
    assert.equal(before.headers.get("x-ratelimit-limit"), "60")
    const patched = await relay.admin("PATCH", `/admin/accounts/${account.id}`, { rpm: 2, tpm: 50_000 })
    assert.equal(patched.status, 200)
    const after = await chat(relay, key, { model: "echo-1" })
    assert.equal(after.headers.get("x-ratelimit-limit"), "2")
    assert.equal(after.headers.get("x-ratelimit-remaining"), "0", "the earlier request still counts")
    assert.equal(after.headers.get("x-ratelimit-limit-tokens"), "50000")
    assert.equal((await chat(relay, key, { model: "echo-1" })).status, 429)
  })

  it("refuses a request that alone needs more than the tier's TPM, saying so", async () => {
    const { account, key } = await createAccount(relay, { name: "tiny-tpm" })
    await relay.admin("PATCH", `/admin/accounts/${account.id}`, { tpm: 500 })
    const answer = await chat(relay, key, { model: "gpt-4o-mini", max_tokens: 1_000 })
    assert.equal(answer.status, 429)
    assert.ok(answer.headers.get("retry-after"))
    const body = (await answer.json()) as { error: { message: string } }
    assert.match(body.error.message, /alone needs about \d+ tokens/)
    assert.equal(mock.chats.filter((r) => r.body.max_tokens === 1_000).length, 0, "nothing went upstream")
  })

  it("admits a request without max_tokens whose model's output cap alone is over the tier's TPM", async () => {
    const { account, key } = await createAccount(relay, { name: "cap-over-tpm", credits: "1.00" })
    // gpt-4o-mini's cap here is 1,000 output tokens: more than this account's whole minute.
    await relay.admin("PATCH", `/admin/accounts/${account.id}`, { tpm: 800 })
    const implicit = await chat(relay, key, { model: "gpt-4o-mini" })
    assert.equal(implicit.status, 200, await implicit.clone().text())
    assert.equal(implicit.headers.get("x-ratelimit-remaining-tokens"), "0", "it reserves what the window holds")
    // Its real usage (14 tokens) replaces the reservation at settle; a limit the caller names is
    // still held to the tier.
    const asked = await chat(relay, key, { model: "gpt-4o-mini", max_tokens: 900 })
    assert.equal(asked.status, 429)
    assert.match(((await asked.json()) as { error: { message: string } }).error.message, /alone needs about \d+ tokens/)
  })

  it("puts the rate-limit state on answers refused before admission and on the model list, counting none of them", async () => {
    const { key } = await createAccount(relay, { name: "refused-early" })
    const spent = await chat(relay, key, { model: "echo-1" })
    assert.equal(spent.headers.get("x-ratelimit-remaining"), "59")
    const badJson = await fetch(`${relay.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: "{oops"
    })
    const unknownModel = await chat(relay, key, { model: "no-such-model" })
    const models = await fetch(`${relay.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })
    const oneModel = await fetch(`${relay.url}/v1/models/echo-1`, { headers: { authorization: `Bearer ${key}` } })
    for (const [answer, status] of [[badJson, 400], [unknownModel, 404], [models, 200], [oneModel, 200]] as const) {
      assert.equal(answer.status, status)
      for (const header of HEADERS) assert.match(answer.headers.get(header) ?? "", /^\d+$/, `${header} on ${answer.url} ${status}`)
      assert.equal(answer.headers.get("x-ratelimit-remaining"), "59", `${status} counts nothing`)
    }
    const stranger = await chat(relay, "sk-rr-unknownunknownunknownunknown00", { model: "echo-1" })
    assert.equal(stranger.status, 401)
    assert.equal(stranger.headers.get("x-ratelimit-limit"), null, "no caller, no window to show")
  })

  it("corrects the token window with the real usage after the response", async () => {
    const { account, key } = await createAccount(relay, { name: "tpm-reconcile", credits: "1.00" })
    await relay.admin("PATCH", `/admin/accounts/${account.id}`, { tpm: 5_000 })
    const first = await chat(relay, key, { model: "gpt-4o-mini", max_tokens: 1_000 })
    assert.equal(first.status, 200)
    const reserved = 5_000 - Number(first.headers.get("x-ratelimit-remaining-tokens"))
    assert.ok(reserved > 1_000, `the reservation covers max_tokens (${reserved})`)
    // The mock used 12 prompt + 2 completion tokens: the next answer shows that, not the reservation.
    const second = await chat(relay, key, { model: "gpt-4o-mini", max_tokens: 1_000 })
    const afterSecond = Number(second.headers.get("x-ratelimit-remaining-tokens"))
    assert.equal(5_000 - afterSecond - reserved, 14, "the first request now counts its real 14 tokens")
  })

  it("exposes the rate-limit headers to browsers", async () => {
    const { key } = await createAccount(relay, { name: "browser" })
    const answer = await fetch(`${relay.baseURL}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", origin: "https://app.example" },
      body: JSON.stringify({ model: "echo-1", messages: [{ role: "user", content: "hi" }] })
    })
    assert.equal(answer.headers.get("access-control-allow-origin"), "https://app.example")
    const exposed = (answer.headers.get("access-control-expose-headers") ?? "").toLowerCase()
    for (const header of [...HEADERS, "retry-after", "x-request-id"]) assert.ok(exposed.includes(header), `${header} exposed`)
    const preflight = await fetch(`${relay.baseURL}/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" }
    })
    assert.equal(preflight.status, 204)
  })

  it("streams to a browser origin whole, with the CORS headers", async () => {
    const { key } = await createAccount(relay, { name: "browser stream" })
    const answer = await fetch(`${relay.baseURL}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", origin: "https://app.example" },
      body: JSON.stringify({ model: "echo-1", stream: true, messages: [{ role: "user", content: "one two three" }] })
    })
    assert.equal(answer.status, 200)
    assert.equal(answer.headers.get("access-control-allow-origin"), "https://app.example")
    assert.match(answer.headers.get("content-type") ?? "", /^text\/event-stream/)
    const events = (await answer.text()).split("\n\n").filter((event) => event.startsWith("data: "))
    assert.equal(events.at(-1), "data: [DONE]")
    const words = events.slice(0, -1).map((event) => JSON.parse(event.slice(6)).choices[0]?.delta?.content ?? "").join("")
    assert.equal(words, "one two three")
  })
})
