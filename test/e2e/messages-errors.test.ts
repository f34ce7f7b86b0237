import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import Anthropic from "@anthropic-ai/sdk"
import { MockAnthropic } from "../helpers/mock-anthropic.ts"
import { type RelayProcess, startRelay } from "../helpers/relay.ts"

interface AnthropicErrorBody {
  type: string
  error: { type: string; message: string }
  request_id: string
}

const expectError = async (response: Response, status: number, type: string, message?: RegExp) => {
  assert.equal(response.status, status)
  const id = response.headers.get("x-request-id")
  assert.match(id ?? "", /\S/)
  assert.equal(response.headers.get("request-id"), id, "Anthropic's own header name carries the id too")
  assert.equal(response.headers.get("content-type"), "application/json")
  const body = (await response.json()) as AnthropicErrorBody
  assert.equal(body.type, "error")
  assert.equal(body.request_id, id)
  assert.equal(body.error.type, type)
  assert.ok(body.error.message.length > 0)
  if (message) assert.match(body.error.message, message)
  return body.error
}

const message = (model: string) => JSON.stringify({ model, max_tokens: 16, messages: [{ role: "user", content: "hi" }] })

const KEYS = {
  "sk-ant-good": "ok",
  "sk-ant-fails-1": "fail500",
  "sk-ant-fails-2": "fail500",
  "sk-ant-busy-1": "overloaded529",
  "sk-ant-busy-2": "overloaded529",
  "sk-ant-limited-1": "rate429",
  "sk-ant-limited-2": "rate429",
  "sk-ant-rejected": "reject401"
} as const

describe("errors on /v1/messages* answer in Anthropic's shape", () => {
  const mock = new MockAnthropic({ ...KEYS })
  let relay: RelayProcess
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${relay.baseURL}${path}`, {
      method: "POST",
      headers: { "x-api-key": relay.firstRunKey!, "content-type": "application/json", "anthropic-version": "2023-06-01", ...headers },
      body
    })

  before(async () => {
    relay = await startRelay({ env: { ANTHROPIC_API_KEY: "sk-ant-good", ANTHROPIC_BASE_URL: await mock.start() } })
  })

  after(async () => {
    await relay.stop()
    await mock.stop()
  })

  it("gives the Anthropic SDK the request id, answered or refused", async () => {
    const client = new Anthropic({ baseURL: relay.url, apiKey: relay.firstRunKey!, maxRetries: 0 })
    const answer = await client.messages.create({ model: "claude-sonnet-4-6", max_tokens: 16, messages: [{ role: "user", content: "hi" }] })
    assert.match(answer._request_id ?? "", /^req_/)
    const refused = await client.messages
      .create({ model: "no-such-model", max_tokens: 16, messages: [{ role: "user", content: "hi" }] })
      .catch((error: unknown) => error)
    assert.ok(refused instanceof Anthropic.NotFoundError)
    assert.match(refused.requestID ?? "", /^req_/)
  })

  it("401 authentication_error for a missing, malformed or unknown key, on both routes", async () => {
    for (const path of ["/messages", "/messages/count_tokens"]) {
      const missing = await fetch(`${relay.baseURL}${path}`, { method: "POST", body: message("claude-sonnet-4-6") })
      await expectError(missing, 401, "authentication_error", /invalid_api_key/)
      await expectError(await post(path, message("claude-sonnet-4-6"), { "x-api-key": `sk-rr-${"B".repeat(40)}` }), 401, "authentication_error")
    }
    const client = new Anthropic({ baseURL: relay.url, apiKey: "not-a-relay-key", maxRetries: 0 })
    await assert.rejects(
      client.messages.create({ model: "claude-sonnet-4-6", max_tokens: 8, messages: [{ role: "user", content: "x" }] }),
      (error: unknown) => error instanceof Anthropic.AuthenticationError && error.type === "authentication_error"
    )
  })

  it("400 invalid_request_error naming the field, for malformed JSON and schema violations", async () => {
    const before = mock.requests.length
    await expectError(await post("/messages", "{\"model\": "), 400, "invalid_request_error", /not valid JSON/)
    await expectError(await post("/messages", JSON.stringify({ model: "claude-sonnet-4-6", messages: [{ role: "user", content: "x" }] })), 400, "invalid_request_error", /^max_tokens: /)
    await expectError(
      await post("/messages", JSON.stringify({ model: "claude-sonnet-4-6", max_tokens: 8, messages: [{ role: "tool", content: "x" }] })),
      400,
      "invalid_request_error",
      /^messages\[0\]\.role: /
    )
    await expectError(await post("/messages/count_tokens", JSON.stringify({ model: "claude-sonnet-4-6" })), 400, "invalid_request_error", /^messages: /)
    assert.equal(mock.requests.length, before, "nothing reached the upstream")
  })

  it("404 not_found_error for an unknown model and an unknown /v1/messages route", async () => {
    await expectError(await post("/messages", message("no-such-model-9")), 404, "not_found_error", /model_not_found/)
    await expectError(await post("/messages/batches-nope", "{}"), 404, "not_found_error")
    await expectError(await fetch(`${relay.url}/byok/v1/messages/nothing`, { method: "POST" }), 404, "not_found_error")
  })

  it("413 request_too_large for a body over the limit", async () => {
    const big = JSON.stringify({ model: "claude-sonnet-4-6", max_tokens: 8, messages: [{ role: "user", content: "x".repeat(70 * 1024) }] })
    await expectError(await post("/messages", big), 413, "request_too_large")
  })

  it("403 permission_error on /byok/v1 without a stored credential, with nothing sent upstream", async () => {
    const before = mock.requests.length
    const response = await fetch(`${relay.url}/byok/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": relay.firstRunKey!, "content-type": "application/json" },
      body: message("claude-sonnet-4-6")
    })
    await expectError(response, 403, "permission_error", /byok_credential_missing/)
    assert.equal(mock.requests.length, before)
  })

  it("an upstream 400 keeps its status and message, in Anthropic's shape, without the key", async () => {
    const error = await expectError(await post("/messages", message("claude-bad-request")), 400, "invalid_request_error", /prompt is too long/)
    assert.ok(!error.message.includes("sk-ant-good"))
  })

  it("the relay still answers", async () => {
    assert.equal((await post("/messages", message("claude-sonnet-4-6"))).status, 200)
  })
})

describe("the Anthropic key pool fails over, and its failures answer in Anthropic's shape", () => {
  const mock = new MockAnthropic({ ...KEYS })
  let upstream: string
  const relays: Array<RelayProcess> = []
  const start = async (keys: string) => {
    const relay = await startRelay({ env: { ANTHROPIC_API_KEY: keys, ANTHROPIC_BASE_URL: upstream } })
    relays.push(relay)
    return relay
  }
  const post = (relay: RelayProcess, body = message("claude-sonnet-4-6")) =>
    fetch(`${relay.baseURL}/messages`, {
      method: "POST",
      headers: { "x-api-key": relay.firstRunKey!, "content-type": "application/json" },
      body
    })

  before(async () => {
    upstream = await mock.start()
  })

  after(async () => {
    for (const relay of relays) await relay.stop()
    await mock.stop()
  })

  it("moves on from keys that answer 500, 529, 429 or 401, and rests them", async () => {
    const relay = await start("sk-ant-fails-1,sk-ant-busy-1,sk-ant-limited-1,sk-ant-rejected,sk-ant-good")
    for (let i = 0; i < 5; i++) assert.equal((await post(relay)).status, 200, `request ${i}`)
    const tried = mock.messages.map((r) => r.headers["x-api-key"])
    for (const key of ["sk-ant-fails-1", "sk-ant-busy-1", "sk-ant-limited-1", "sk-ant-rejected"]) {
      assert.equal(tried.filter((k) => k === key).length, 1, `${key} tried once, then rested`)
    }
    const output = relay.output()
    for (const key of Object.keys(KEYS)) assert.ok(!output.includes(key), "keys are logged by slot, never by value")
  })

  it("every key overloaded (529) is a 503 overloaded_error, which the SDK raises as such", async () => {
    const relay = await start("sk-ant-busy-1,sk-ant-busy-2")
    await expectError(await post(relay), 503, "overloaded_error", /overloaded/)
    const client = new Anthropic({ baseURL: relay.url, apiKey: relay.firstRunKey!, maxRetries: 0 })
    await assert.rejects(
      client.messages.create({ model: "claude-sonnet-4-6", max_tokens: 8, messages: [{ role: "user", content: "x" }] }),
      (error: unknown) => error instanceof Anthropic.APIError && error.status === 503 && error.type === "overloaded_error"
    )
  })

  it("every key failing with 5xx is a 502 api_error", async () => {
    const relay = await start("sk-ant-fails-1,sk-ant-fails-2")
    await expectError(await post(relay), 502, "api_error", /upstream_error/)
  })

  it("every key rate-limited upstream is a 503 with Retry-After", async () => {
    const relay = await start("sk-ant-limited-1,sk-ant-limited-2")
    const response = await post(relay)
    assert.equal(response.headers.get("retry-after"), "9")
    await expectError(response, 503, "overloaded_error", /rate-limited/)
  })

  it("no configured key is a 503, on count_tokens too", async () => {
    const relay = await start("")
    await expectError(await post(relay), 503, "overloaded_error", /no upstream credential/)
    const count = await fetch(`${relay.baseURL}/messages/count_tokens`, {
      method: "POST",
      headers: { "x-api-key": relay.firstRunKey!, "content-type": "application/json" },
      body: JSON.stringify({ model: "claude-sonnet-4-6", messages: [{ role: "user", content: "x" }] })
    })
    await expectError(count, 503, "overloaded_error")
  })
})
