import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import OpenAI from "openai"
import { MockAnthropic, TOOL_INPUT } from "../helpers/mock-anthropic.ts"
import { readStream } from "../helpers/openai-stream.ts"
import { eventually, type RelayProcess, settles, startRelay } from "../helpers/relay.ts"

const ANTHROPIC_KEY = "sk-ant-mock-shared-1"

const WEATHER_TOOL = {
  type: "function" as const,
  function: { name: "get_weather", description: "Weather by city", parameters: { type: "object", properties: { city: { type: "string" } } } }
}

const PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

/** Reads a chat-completions stream the way its consumers do. */
const collect = readStream

describe("POST /v1/chat/completions to a Claude model with the openai SDK (translated)", () => {
  const mock = new MockAnthropic({ [ANTHROPIC_KEY]: "ok" })
  let relay: RelayProcess
  let client: OpenAI

  before(async () => {
    const upstream = await mock.start()
    relay = await startRelay({ env: { ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: upstream } })
    client = new OpenAI({ baseURL: relay.baseURL, apiKey: relay.firstRunKey, maxRetries: 0 })
  })

  after(async () => {
    await relay.stop()
    await mock.stop()
  })

  it("answers a chat completion: content, finish reason, usage with cached tokens, the model as asked", async () => {
    const completion = await client.chat.completions.create({
      model: "claude-sonnet-4-6",
      temperature: 1.6,
      top_p: 0.9,
      stop: ["ZZZ"],
      user: "u-42",
      seed: 3,
      messages: [
        { role: "system", content: "Be terse." },
        { role: "user", content: "hello claude" },
        { role: "assistant", content: "Hi." },
        { role: "developer", content: "Answer in English." },
        { role: "user", content: "say it back" }
      ]
    })
    assert.equal(completion.object, "chat.completion")
    assert.equal(completion.model, "claude-sonnet-4-6")
    assert.equal(completion.choices[0]?.message.content, "say it back")
    assert.equal(completion.choices[0]?.finish_reason, "stop")
    // Anthropic: 13 uncached input tokens, 5 written to the cache, 40 read from it.
    assert.equal(completion.usage?.prompt_tokens, 13 + 5 + 40)
    assert.equal(completion.usage?.prompt_tokens_details?.cached_tokens, 40)
    assert.equal(completion.usage?.completion_tokens, 3)
    assert.equal(completion.usage?.total_tokens, 61)
    const seen = mock.messages.at(-1)!
    assert.equal(seen.headers["x-api-key"], ANTHROPIC_KEY)
    assert.equal(seen.headers["anthropic-version"], "2023-06-01")
    assert.deepEqual(seen.body, {
      model: "claude-sonnet-4-6",
      max_tokens: 2_000,
      system: [{ type: "text", text: "Be terse." }, { type: "text", text: "Answer in English." }],
      messages: [
        { role: "user", content: [{ type: "text", text: "hello claude" }] },
        { role: "assistant", content: [{ type: "text", text: "Hi." }] },
        { role: "user", content: [{ type: "text", text: "say it back" }] }
      ],
      temperature: 1,
      top_p: 0.9,
      stop_sequences: ["ZZZ"],
      metadata: { user_id: "u-42" }
    })
  })

  it("streams chunks with one id and the client's model name; the usage chunk only when asked", async () => {
    const plain = await collect(await client.chat.completions.create({ model: "house-claude", stream: true, messages: [{ role: "user", content: "one two three" }] }))
    assert.equal(plain.content, "one two three")
    assert.equal(plain.finish, "stop")
    assert.equal(plain.usage, undefined)
    assert.equal(plain.ids.size, 1)
    assert.deepEqual([...plain.models], ["house-claude"])
    assert.equal(mock.messages.at(-1)!.body.model, "claude-haiku-4-5")
    assert.equal(mock.messages.at(-1)!.body.max_tokens, 1_500, "the model's cap when the client set none")

    const counted = await collect(await client.chat.completions.create({
      model: "claude-sonnet-4-6",
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 64,
      messages: [{ role: "user", content: "count these" }]
    }))
    assert.equal(counted.usage?.prompt_tokens, 11 + 5 + 40)
    assert.equal(counted.usage?.prompt_tokens_details?.cached_tokens, 40)
    assert.equal(counted.usage?.completion_tokens, 2)
    assert.equal(mock.messages.at(-1)!.body.max_tokens, 64)
  })

  it("streams a tool call whose argument fragments reassemble to the input, then takes the tool's result", async () => {
    const first = await collect(await client.chat.completions.create({
      model: "claude-tools-1",
      stream: true,
      tools: [WEATHER_TOOL],
      tool_choice: "auto",
      messages: [{ role: "user", content: "weather?" }]
    }))
    assert.equal(first.content, "Let me check.")
    assert.equal(first.finish, "tool_calls")
    assert.deepEqual(first.calls, [{ id: "toolu_mock01", name: "get_weather", arguments: JSON.stringify(TOOL_INPUT) }])
    assert.deepEqual(mock.messages.at(-1)!.body.tools, [{ name: "get_weather", description: "Weather by city", input_schema: WEATHER_TOOL.function.parameters }])
    assert.deepEqual(mock.messages.at(-1)!.body.tool_choice, { type: "auto" })

    const second = await client.chat.completions.create({
      model: "claude-tools-1",
      tools: [WEATHER_TOOL],
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: first.content, tool_calls: first.calls.map((c) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: c.arguments } })) },
        { role: "tool", tool_call_id: first.calls[0]!.id, content: "18C clear" }
      ]
    })
    assert.equal(second.choices[0]?.message.content, "tool said: 18C clear")
    assert.equal(second.choices[0]?.finish_reason, "stop")
  })

  it("answers a whole tool call with its arguments as a JSON string", async () => {
    const completion = await client.chat.completions.create({ model: "claude-tools-1", tools: [WEATHER_TOOL], messages: [{ role: "user", content: "weather?" }] })
    const call = completion.choices[0]?.message.tool_calls?.[0]
    assert.ok(call?.type === "function")
    assert.deepEqual(JSON.parse(call.function.arguments), TOOL_INPUT)
    assert.equal(completion.choices[0]?.finish_reason, "tool_calls")
  })

  it("sends image parts (data URL and https) as Anthropic image blocks", async () => {
    await client.chat.completions.create({
      model: "claude-sonnet-4-6",
      messages: [{
        role: "user",
        content: [
          { type: "text", text: "what is this?" },
          { type: "image_url", image_url: { url: `data:image/png;base64,${PIXEL}`, detail: "low" } },
          { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } }
        ]
      }]
    })
    assert.deepEqual(mock.messages.at(-1)!.body.messages, [{
      role: "user",
      content: [
        { type: "text", text: "what is this?" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: PIXEL } },
        { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } }
      ]
    }])
  })

  it("does not show thinking, maps max_tokens to length and a stop sequence to stop", async () => {
    const thought = await client.chat.completions.create({ model: "claude-thinking-1", messages: [{ role: "user", content: "think" }] })
    assert.equal(thought.choices[0]?.message.content, "think")
    const streamedThought = await collect(await client.chat.completions.create({ model: "claude-thinking-1", stream: true, messages: [{ role: "user", content: "think" }] }))
    assert.equal(streamedThought.content, "think")
    const cut = await client.chat.completions.create({ model: "claude-max", messages: [{ role: "user", content: "long answer" }] })
    assert.equal(cut.choices[0]?.finish_reason, "length")
    const stopped = await client.chat.completions.create({ model: "claude-sonnet-4-6", stop: "three", messages: [{ role: "user", content: "one two three four" }] })
    assert.equal(stopped.choices[0]?.message.content, "one two ")
    assert.equal(stopped.choices[0]?.finish_reason, "stop")
  })

  it("refuses n > 1 with a 400 naming n, sending nothing upstream", async () => {
    const before = mock.requests.length
    await assert.rejects(
      client.chat.completions.create({ model: "claude-sonnet-4-6", n: 2, messages: [{ role: "user", content: "x" }] }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "n"
    )
    assert.equal(mock.requests.length, before)
  })

  it("leaves empty messages out of the conversation, and refuses one with nothing left with a 400 naming messages", async () => {
    const completion = await client.chat.completions.create({
      model: "claude-sonnet-4-6",
      messages: [{ role: "user", content: "" }, { role: "user", content: "still here" }, { role: "assistant", content: "" }, { role: "user", content: [] }]
    })
    assert.equal(completion.choices[0]?.message.content, "still here")
    assert.deepEqual(mock.messages.at(-1)!.body.messages, [{ role: "user", content: [{ type: "text", text: "still here" }] }])

    const before = mock.requests.length
    await assert.rejects(
      client.chat.completions.create({ model: "claude-sonnet-4-6", messages: [{ role: "system", content: "Be terse." }] }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "messages" && error.type === "invalid_request_error"
    )
    assert.equal(mock.requests.length, before, "nothing reached the upstream")
  })

  it("re-shapes an upstream Anthropic 400 into OpenAI's shape, with the upstream key redacted", async () => {
    await assert.rejects(
      client.chat.completions.create({ model: "claude-bad-request", messages: [{ role: "user", content: "x" }] }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.BadRequestError)
        assert.equal(error.type, "invalid_request_error")
        assert.equal(error.code, "upstream_rejected")
        assert.match(error.message, /prompt is too long/)
        assert.ok(!error.message.includes(ANTHROPIC_KEY))
        return true
      }
    )
  })

  it("raises a mid-stream overloaded_error in the SDK, and a stream cut mid-event too; each settles once as failed", async () => {
    for (const model of ["claude-overloaded", "claude-cut"]) {
      const { data: stream, response } = await client.chat.completions
        .create({ model, stream: true, messages: [{ role: "user", content: "a b c d e f g h" }] })
        .withResponse()
      await assert.rejects(collect(stream), (error: unknown) => error instanceof OpenAI.APIError, model)
      const id = response.headers.get("x-request-id")!
      await eventually(async () => {
        const mine = (await settles(relay)).filter((s) => s.id === id)
        assert.equal(mine.length, 1, model)
        assert.equal(mine[0]!.error, "upstream_error", model)
        assert.equal(mine[0]!.usage?.source, "estimated", model)
        assert.equal(mine[0]!.usage?.promptTokens, 56, `${model}: the input message_start reported`)
      })
    }
  })

  it("a client that disconnects mid-stream aborts the upstream, and the request settles once as aborted", async () => {
    const controller = new AbortController()
    const { data: stream, response } = await client.chat.completions
      .create({ model: "claude-slow", stream: true, messages: [{ role: "user", content: "long" }] }, { signal: controller.signal })
      .withResponse()
    let received = 0
    for await (const _ of stream) if (++received === 3) controller.abort()
    const seen = mock.messages.at(-1)!
    await eventually(() => assert.equal(seen.aborted, true))
    assert.ok(seen.chunksSent < 60, `upstream stopped early (sent ${seen.chunksSent})`)
    const id = response.headers.get("x-request-id")!
    await eventually(async () => {
      const mine = (await settles(relay)).filter((s) => s.id === id)
      assert.equal(mine.length, 1)
      assert.equal(mine[0]!.aborted, true)
    })
  })
})
