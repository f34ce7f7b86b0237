import assert from "node:assert/strict"
import { request } from "node:http"
import { after, before, describe, it } from "node:test"
import OpenAI from "openai"
import { MockOpenAI, TOOL_CALLS } from "../helpers/mock-openai.ts"
import { readStream } from "../helpers/openai-stream.ts"
import { eventually, type RelayProcess, settles, startRelay } from "../helpers/relay.ts"

const SHARED_KEY = "sk-mock-shared-1"

describe("POST /v1/chat/completions through the openai provider", () => {
  const mock = new MockOpenAI({ [SHARED_KEY]: "ok" })
  let relay: RelayProcess
  let client: OpenAI

  before(async () => {
    const upstream = await mock.start()
    relay = await startRelay({ env: { OPENAI_API_KEY: SHARED_KEY, OPENAI_BASE_URL: upstream } })
    assert.ok(relay.firstRunKey, "first start prints a key")
    client = new OpenAI({ baseURL: relay.baseURL, apiKey: relay.firstRunKey, maxRetries: 0 })
  })

  after(async () => {
    await relay.stop()
    await mock.stop()
  })

  it("asks a stream for usage without rewriting the rest of the client's body", async () => {
    // Parsing and re-serialising would round this seed (above 2^53) and drop the escape.
    const text = `{"model":"gpt-4o-mini","stream":true,"seed":9223372036854775807,"messages":[{"role":"user","content":"caf\\u00e9 ok"}]}`
    const answer = await fetch(`${relay.baseURL}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${relay.firstRunKey}`, "content-type": "application/json" },
      body: text
    })
    assert.equal(answer.status, 200)
    assert.match(await answer.text(), /data: \[DONE\]/)
    const seen = mock.chats.at(-1)!.raw
    assert.ok(seen.includes(`"seed":9223372036854775807`), seen)
    assert.ok(seen.includes(`"content":"caf\\u00e9 ok"`), seen)
    assert.deepEqual(mock.chats.at(-1)!.body.stream_options, { include_usage: true })
  })

  it("reads a body written in many pieces whole, and sends it upstream intact", async () => {
    // An agent's first request (a long system prompt, its tools) spans many packets, which may
    // all have arrived by the time the relay reads the body.
    const content = Array.from({ length: 6_000 }, (_, i) => `word${i}`).join(" ")
    const body = Buffer.from(JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content }] }))
    const url = new URL(`${relay.baseURL}/chat/completions`)
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { authorization: `Bearer ${relay.firstRunKey}`, "content-type": "application/json", "content-length": body.length }
      }, (res) => {
        res.resume()
        res.on("end", () => resolve(res.statusCode ?? 0))
      })
      req.on("error", reject)
      for (let at = 0; at < body.length; at += 4_096) req.write(body.subarray(at, at + 4_096))
      req.end()
    })
    assert.equal(status, 200)
    assert.equal((mock.chats.at(-1)!.body.messages as Array<{ content: string }>)[0]!.content, content)
  })

  it("answers a non-streaming completion with the upstream's body, sending the shared key upstream", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "ping over the relay" }], temperature: 0.3 })
      .withResponse()
    assert.equal(data.choices[0]?.message.content, "ping over the relay")
    assert.equal(data.usage?.prompt_tokens, 12)
    assert.equal(data.system_fingerprint, "fp_mock")
    assert.match(response.headers.get("x-request-id") ?? "", /^req_/)
    const seen = mock.chats.at(-1)!
    assert.equal(seen.headers.authorization, `Bearer ${SHARED_KEY}`)
    assert.equal(seen.body.temperature, 0.3, "unknown-to-the-relay fields travel untouched")
    const upstreamHeaders = JSON.stringify(seen.headers)
    assert.ok(!upstreamHeaders.includes(relay.firstRunKey!), "the relay key never goes upstream")
  })

  it("keeps the client's x-request-id when it is visible ASCII, in the answer and the log", async () => {
    const withId = (id: string) =>
      fetch(`${relay.baseURL}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${relay.firstRunKey}`, "content-type": "application/json", "x-request-id": id },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] })
      })
    for (const id of ["client-id-42", "my id with spaces", "abc/def"]) {
      const response = await withId(id)
      assert.equal(response.status, 200)
      assert.equal(response.headers.get("x-request-id"), id)
      await eventually(() => assert.ok(relay.output().includes(`"request_id":${JSON.stringify(id)}`), `${id} in the log`))
    }
    for (const id of ["caf\u00e9", "z".repeat(257)]) {
      const response = await withId(id)
      assert.equal(response.status, 200)
      assert.match(response.headers.get("x-request-id") ?? "", /^req_[0-9A-Za-z]{24}$/, `${id} replaced`)
    }
  })

  it("streams the upstream's chunks unchanged, hiding the usage chunk it asked for on the client's behalf", async () => {
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      stream: true,
      messages: [{ role: "user", content: "one two three four five" }]
    })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? "").join(""), "one two three four five")
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, "stop")
    assert.ok(chunks.every((c) => c.choices.length > 0), "no usage-only chunk reaches a client that did not ask")
    // Chunks are the upstream's own bytes: its `"usage": null` placeholders stay, and carry nothing.
    assert.ok(chunks.every((c) => c.usage == null))
    const seen = mock.chats.at(-1)!
    assert.deepEqual(seen.body.stream_options, { include_usage: true })
    const id = chunks[0]!.id
    assert.ok(chunks.every((c) => c.id === id))
  })

  it("passes the usage chunk to a client that asked for it", async () => {
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "count me" }]
    })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    const last = chunks.at(-1)!
    assert.deepEqual(last.choices, [])
    assert.equal(last.usage?.prompt_tokens, 12)
    assert.equal(last.usage?.completion_tokens, 2)
  })

  it("settles a stream with the upstream's usage", async () => {
    const response = await client.chat.completions
      .create({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "a b c" }] })
      .withResponse()
    for await (const _ of response.data) void _
    const id = response.response.headers.get("x-request-id")!
    await eventually(async () => {
      const mine = (await settles(relay)).filter((s) => s.id === id)
      assert.equal(mine.length, 1, "settled exactly once")
      assert.equal(mine[0]!.status, 200)
      assert.equal(mine[0]!.usage?.source, "upstream")
      assert.equal(mine[0]!.usage?.promptTokens, 12)
      assert.equal(mine[0]!.usage?.cachedTokens, 3)
      assert.equal(mine[0]!.usage?.completionTokens, 3)
    })
  })

  it("passes tool calls through, streamed fragments reassembling to the upstream's arguments", async () => {
    const tools = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: {} } } }]
    const stream = await client.chat.completions.create({
      model: "mock-tools",
      stream: true,
      tools,
      messages: [{ role: "user", content: "weather?" }]
    })
    const { calls, finish } = await readStream(stream)
    assert.deepEqual(calls, TOOL_CALLS)
    assert.equal(finish, "tool_calls")

    const whole = await client.chat.completions.create({ model: "mock-tools", tools, messages: [{ role: "user", content: "weather?" }] })
    assert.deepEqual(
      whole.choices[0]?.message.tool_calls?.map((c) => (c.type === "function" ? c.function.arguments : "")),
      TOOL_CALLS.map((c) => c.arguments)
    )
  })

  it("aborts the upstream request when the client disconnects mid-stream, and settles it once as aborted", async () => {
    const controller = new AbortController()
    const { data: stream, response } = await client.chat.completions
      .create({ model: "mock-slow", stream: true, messages: [{ role: "user", content: "long" }] }, { signal: controller.signal })
      .withResponse()
    const id = response.headers.get("x-request-id")!
    let received = 0
    // The SDK ends the iteration quietly when its own signal aborts it.
    for await (const _ of stream) {
      if (++received === 3) controller.abort()
    }
    assert.equal(received, 3)
    const seen = mock.chats.at(-1)!
    await eventually(() => assert.equal(seen.aborted, true, "the upstream saw the relay hang up"))
    assert.ok(seen.chunksSent < 50, `upstream stopped early (sent ${seen.chunksSent} of 103)`)
    await eventually(async () => {
      const mine = (await settles(relay)).filter((s) => s.id === id)
      assert.equal(mine.length, 1)
      assert.equal(mine[0]!.aborted, true)
      assert.equal(mine[0]!.usage?.source, "estimated")
      assert.ok(mine[0]!.usage!.completionTokens >= 3, "the tokens delivered before the abort are counted")
    })
  })

  it("aborts the upstream request when the client goes away before the answer, and settles it once as aborted", async () => {
    const controller = new AbortController()
    const id = `req_gone_early_${Date.now()}`
    const asked = mock.chats.length
    const call = client.chat.completions.create(
      { model: "mock-hang", messages: [{ role: "user", content: "no answer" }] },
      { signal: controller.signal, headers: { "x-request-id": id } }
    )
    await eventually(() => assert.equal(mock.chats.length, asked + 1, "the request reached the upstream"))
    controller.abort()
    await assert.rejects(call)
    const seen = mock.chats.at(-1)!
    await eventually(() => assert.equal(seen.aborted, true, "the upstream saw the relay hang up"))
    await eventually(async () => {
      const mine = (await settles(relay)).filter((s) => s.id === id)
      assert.equal(mine.length, 1)
      assert.equal(mine[0]!.aborted, true)
    })
  })

  it("sends an alias upstream under its upstream name, and shows the client its alias", async () => {
    const whole = await client.chat.completions.create({ model: "house-model", messages: [{ role: "user", content: "alias" }] })
    assert.equal(mock.chats.at(-1)!.body.model, "gpt-4o-mini")
    assert.equal(whole.model, "house-model")
    const stream = await client.chat.completions.create({ model: "house-model", stream: true, messages: [{ role: "user", content: "alias streamed" }] })
    const chunks = []
    for await (const chunk of stream) chunks.push(chunk)
    assert.ok(chunks.every((c) => c.model === "house-model"))
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? "").join(""), "alias streamed")
    assert.ok(chunks.every((c) => c.choices.length > 0), "the hidden usage chunk stays hidden")
  })

  it("clamps max_tokens to the model's output cap", async () => {
    await client.chat.completions.create({ model: "gpt-4o-mini", max_tokens: 32_000, messages: [{ role: "user", content: "cap" }] })
    assert.equal(mock.chats.at(-1)!.body.max_tokens, 1_000)
  })

  it("routes an uncatalogued model by the provider's name patterns", async () => {
    const reply = await client.chat.completions.create({ model: "gpt-4.1-nano", messages: [{ role: "user", content: "pattern" }] })
    assert.equal(reply.choices[0]?.message.content, "pattern")
    assert.equal(mock.chats.at(-1)!.body.model, "gpt-4.1-nano")
  })

  it("serves 20 concurrent streams", async () => {
    const texts = Array.from({ length: 20 }, (_, i) => `stream number ${i}`)
    const results = await Promise.all(texts.map(async (text) => {
      const stream = await client.chat.completions.create({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: text }] })
      let out = ""
      for await (const chunk of stream) out += chunk.choices[0]?.delta.content ?? ""
      return out
    }))
    assert.deepEqual(results, texts)
  })

  it("marks admitted responses through the test plugin declared only in the test config", async () => {
    const { response } = await client.chat.completions
      .create({ model: "echo-1", messages: [{ role: "user", content: "plugin" }] })
      .withResponse()
    assert.match(response.headers.get("x-audit-account") ?? "", /^acct_/)
  })

  it("settles an upstream error exactly once with its status", async () => {
    const response = await fetch(`${relay.baseURL}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${relay.firstRunKey}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "mock-bad-request", messages: [{ role: "user", content: "x" }] })
    })
    assert.equal(response.status, 400)
    const id = response.headers.get("x-request-id")!
    await eventually(async () => {
      const mine = (await settles(relay)).filter((s) => s.id === id)
      assert.equal(mine.length, 1)
      assert.equal(mine[0]!.status, 400)
      assert.equal(mine[0]!.error, "upstream_rejected")
    })
  })

  it("never writes the shared key or the relay key to its output", () => {
    const output = relay.output().replace(relay.firstRunKey!, "")
    assert.ok(!output.includes(SHARED_KEY))
    assert.ok(!output.includes("sk-rr-"), "only the first-run banner shows a relay key")
    assert.match(output, /"msg":"request"/, "requests are logged")
  })
})
