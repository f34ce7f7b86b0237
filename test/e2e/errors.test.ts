import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import OpenAI from "openai"
import { MockOpenAI } from "../helpers/mock-openai.ts"
import { type RelayProcess, RUNTIME, startRelay } from "../helpers/relay.ts"

interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

const post = (relay: RelayProcess, body: string, headers: Record<string, string> = {}) =>
  fetch(`${relay.baseURL}/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${relay.firstRunKey}`, "content-type": "application/json", ...headers },
    body
  })

const expectError = async (response: Response, status: number, code: string, param?: string) => {
  assert.equal(response.status, status)
  assert.match(response.headers.get("x-request-id") ?? "", /\S/)
  const body = (await response.json()) as OpenAIErrorBody
  assert.equal(body.error.code, code)
  assert.equal(typeof body.error.message, "string")
  assert.ok(body.error.message.length > 0)
  if (param !== undefined) assert.equal(body.error.param, param)
  return body.error
}

/** The mock upstream's keys and how each behaves. */
const MOCK_KEYS = {
  "sk-good-1": "ok",
  "sk-fails-1": "fail500",
  "sk-fails-2": "fail500",
  "sk-limited-1": "rate429",
  "sk-limited-2": "rate429",
  "sk-rejected-1": "reject401",
  "sk-rejected-2": "reject401",
  "sk-drops-1": "drop",
  "sk-stale-1": "dropReused"
} as const

const chat = (model: string) => JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] })

describe("bad input and upstream failures answer in OpenAI's error shape", () => {
  const mock = new MockOpenAI(MOCK_KEYS)
  let upstream: string
  let relay: RelayProcess

  before(async () => {
    upstream = await mock.start()
    relay = await startRelay({ env: { OPENAI_API_KEY: "sk-good-1", OPENAI_BASE_URL: upstream } })
  })

  after(async () => {
    await relay.stop()
    await mock.stop()
  })

  it("malformed JSON is a 400", async () => {
    await expectError(await post(relay, "{\"model\": "), 400, "invalid_request")
  })

  it("a body that is not an object is a 400", async () => {
    await expectError(await post(relay, "[1,2]"), 400, "invalid_request")
  })

  it("a missing model is a 400 naming the field", async () => {
    const error = await expectError(await post(relay, JSON.stringify({ messages: [] })), 400, "invalid_request", "model")
    assert.match(error.message, /model/)
  })

  it("wrong field types are 400s naming the field", async () => {
    await expectError(await post(relay, JSON.stringify({ model: "gpt-4o-mini", messages: "hi" })), 400, "invalid_request", "messages")
    await expectError(
      await post(relay, JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: 7, content: "x" }] })),
      400,
      "invalid_request",
      "messages[0].role"
    )
    await expectError(
      await post(relay, JSON.stringify({ model: "gpt-4o-mini", stream: "yes", messages: [{ role: "user", content: "x" }] })),
      400,
      "invalid_request",
      "stream"
    )
  })

  it("an unknown route is a 404", async () => {
    const response = await fetch(`${relay.url}/v1/nothing-here`, { headers: { authorization: `Bearer ${relay.firstRunKey}` } })
    await expectError(response, 404, "not_found")
  })

  it("a body over the limit is a 413, declared or streamed", async () => {
    const big = JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(70 * 1024) }] })
    await expectError(await post(relay, big), 413, "request_too_large")
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big))
        controller.close()
      }
    })
    const response = await fetch(`${relay.baseURL}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${relay.firstRunKey}`, "content-type": "application/json" },
      body: chunked,
      duplex: "half"
    } as RequestInit)
    await expectError(response, 413, "request_too_large")
  })

  it("a missing, malformed or unknown key is a 401", async () => {
    const missing = await fetch(`${relay.baseURL}/chat/completions`, { method: "POST", body: chat("gpt-4o-mini") })
    await expectError(missing, 401, "invalid_api_key")
    await expectError(await post(relay, chat("gpt-4o-mini"), { authorization: "Bearer not-a-key" }), 401, "invalid_api_key")
    const unknown = `sk-rr-${"A".repeat(40)}`
    const error = await expectError(await post(relay, chat("gpt-4o-mini"), { authorization: `Bearer ${unknown}` }), 401, "invalid_api_key")
    assert.ok(!error.message.includes(unknown), "the key is not echoed back")
  })

  it("accepts the key from x-api-key as Anthropic clients send it", async () => {
    const response = await fetch(`${relay.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "x-api-key": relay.firstRunKey!, "content-type": "application/json" },
      body: chat("gpt-4o-mini")
    })
    assert.equal(response.status, 200)
  })

  it("a model no provider serves is a 404 model_not_found", async () => {
    await expectError(await post(relay, chat("no-such-model-9")), 404, "model_not_found")
  })

  it("an upstream 400 reaches the client with its status, code, type and param, and without the upstream key", async () => {
    const error = await expectError(await post(relay, chat("mock-bad-request")), 400, "invalid_value", "temperature")
    assert.equal(error.type, "invalid_request_error")
    assert.match(error.message, /Invalid value for 'temperature'/)
    assert.ok(!error.message.includes("sk-good-1"), `upstream key redacted from: ${error.message}`)
    const client = new OpenAI({ baseURL: relay.baseURL, apiKey: relay.firstRunKey, maxRetries: 0 })
    await assert.rejects(
      client.chat.completions.create({ model: "mock-bad-request", messages: [{ role: "user", content: "x" }] }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.code === "invalid_value" && error.param === "temperature"
    )
  })

  it("the openai SDK raises its own error class for relay errors", async () => {
    const client = new OpenAI({ baseURL: relay.baseURL, apiKey: relay.firstRunKey, maxRetries: 0 })
    await assert.rejects(
      client.chat.completions.create({ model: "no-such-model-9", messages: [{ role: "user", content: "x" }] }),
      (error: unknown) => error instanceof OpenAI.NotFoundError && error.code === "model_not_found"
    )
  })

  it("nothing crashed: the relay still answers", async () => {
    assert.equal((await fetch(`${relay.url}/healthz`)).status, 200)
    assert.equal((await post(relay, chat("gpt-4o-mini"))).status, 200)
  })
})

describe("the shared key pool fails over before the first byte", () => {
  const mock = new MockOpenAI(MOCK_KEYS)
  let upstream: string
  const relays: Array<RelayProcess> = []
  const start = async (keys: string, env: Record<string, string> = {}) => {
    const relay = await startRelay({ env: { OPENAI_API_KEY: keys, OPENAI_BASE_URL: upstream, ...env } })
    relays.push(relay)
    return relay
  }

  before(async () => {
    upstream = await mock.start()
  })

  after(async () => {
    for (const relay of relays) await relay.stop()
    await mock.stop()
  })

  it("moves on from a key that answers 5xx, 429, 401 or drops the connection, and rests the bad keys", async () => {
    const relay = await start("sk-fails-1,sk-limited-1,sk-rejected-1,sk-drops-1,sk-good-1")
    for (let i = 0; i < 6; i++) {
      const response = await post(relay, chat("gpt-4o-mini"))
      assert.equal(response.status, 200, `request ${i}`)
    }
    const keysTried = mock.chats.map((r) => r.headers.authorization)
    for (const key of ["sk-fails-1", "sk-limited-1", "sk-rejected-1"]) {
      assert.equal(keysTried.filter((k) => k === `Bearer ${key}`).length, 1, `${key} tried once, then rested`)
    }
    // A dropped connection is tried once more on a fresh one before the key rests (and Deno's
    // HTTP client itself sends a request again when a reused connection drops).
    const drops = keysTried.filter((k) => k === "Bearer sk-drops-1").length
    assert.ok(drops >= 2 && drops <= (RUNTIME === "deno" ? 4 : 2), `sk-drops-1 tried ${drops} times`)
    assert.equal(keysTried.filter((k) => k === "Bearer sk-good-1").length, 6)
    const output = relay.output()
    for (const key of ["sk-fails-1", "sk-limited-1", "sk-rejected-1", "sk-drops-1", "sk-good-1"]) {
      assert.ok(!output.includes(key), "keys are logged by slot, never by value")
    }
    for (const slot of [0, 1, 2, 3]) {
      assert.equal(output.match(new RegExp(`"slot":${slot}[^\\n]*"upstream key failed"`, "g"))?.length, 1, `slot ${slot} failed once`)
    }
  })

  it("a kept-alive connection the upstream had closed is tried again on a fresh one, not charged to the key", async () => {
    const relay = await start("sk-stale-1")
    for (let i = 0; i < 20; i++) {
      const response = await post(relay, chat("gpt-4o-mini"))
      assert.equal(response.status, 200, `request ${i}: ${await response.clone().text()}`)
    }
    assert.doesNotMatch(relay.output(), /upstream key failed/)
  })

  it("a 401 or 403 about the request reaches its caller and rests no key", async () => {
    const relay = await start("sk-good-1")
    const refused = await post(relay, chat("mock-forbidden"))
    const error = await expectError(refused, 403, "model_not_found")
    assert.match(error.message, /does not have access to model/)
    const before = mock.chats.length
    for (let i = 0; i < 3; i++) assert.equal((await post(relay, chat("gpt-4o-mini"))).status, 200, "the pool still serves")
    assert.equal(mock.chats.length - before, 3)
    assert.doesNotMatch(relay.output(), /upstream key failed/)
  })

  it("every key failing with 5xx is a 502", async () => {
    const relay = await start("sk-fails-1,sk-fails-2")
    await expectError(await post(relay, chat("gpt-4o-mini")), 502, "upstream_error")
  })

  it("every key rate-limited upstream is a 503 with Retry-After", async () => {
    const relay = await start("sk-limited-1,sk-limited-2")
    const response = await post(relay, chat("gpt-4o-mini"))
    assert.equal(response.headers.get("retry-after"), "7")
    await expectError(response, 503, "upstream_unavailable")
    const again = await post(relay, chat("gpt-4o-mini"))
    assert.ok(Number(again.headers.get("retry-after")) >= 1)
    await expectError(again, 503, "upstream_unavailable")
  })

  it("every key rejected upstream (401) is a 503 saying so, with Retry-After, now and while the keys rest", async () => {
    const relay = await start("sk-rejected-1,sk-rejected-2")
    for (const round of ["first", "second"]) {
      const response = await post(relay, chat("gpt-4o-mini"))
      // The keys rest 60 s; the second request comes within a second or two of the first.
      const retryAfter = Number(response.headers.get("retry-after"))
      assert.ok(retryAfter >= 58 && retryAfter <= 60, `${round}: retry-after ${retryAfter}`)
      const error = await expectError(response, 503, "upstream_unavailable")
      assert.match(error.message, /rejected every key/, round)
      assert.doesNotMatch(error.message, /rate-limited/, round)
      assert.ok(!error.message.includes("sk-rej"), "no key in the message")
    }
  })

  it("no configured key is a 503", async () => {
    const relay = await start("")
    await expectError(await post(relay, chat("gpt-4o-mini")), 503, "upstream_unavailable")
  })

  it("an upstream that does not answer in time is a 504", async () => {
    const relay = await start("sk-good-1", { TEST_UPSTREAM_TIMEOUT_SECONDS: "1" })
    await expectError(await post(relay, chat("mock-hang")), 504, "upstream_timeout")
  })
})
