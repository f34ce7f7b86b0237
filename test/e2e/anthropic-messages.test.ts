import assert from "node:assert/strict"
import { after, before, describe, it } from "node:test"
import Anthropic from "@anthropic-ai/sdk"
import { countTokensFor, MockAnthropic, TOOL_INPUT } from "../helpers/mock-anthropic.ts"
import { MockOpenAI, TOOL_CALLS } from "../helpers/mock-openai.ts"
import { eventually, type RelayProcess, settles, startRelay } from "../helpers/relay.ts"

const ANTHROPIC_KEY = "sk-ant-mock-shared-1"
const OPENAI_KEY = "sk-mock-shared-1"
const GEMINI_KEY = "gemini-mock-key-1"

const WEATHER_TOOL = {
  name: "get_weather",
  description: "Weather by city",
  input_schema: { type: "object" as const, properties: { city: { type: "string" } }, required: ["city"] }
}

const PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

describe("POST /v1/messages with the Anthropic SDK", () => {
  const anthropicMock = new MockAnthropic({ [ANTHROPIC_KEY]: "ok" })
  const openaiMock = new MockOpenAI({ [OPENAI_KEY]: "ok", [GEMINI_KEY]: "ok" })
  let relay: RelayProcess
  let client: Anthropic

  /** A request to the relay without the SDK, to see the exact bytes. */
  const raw = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${relay.baseURL}${path}`, {
      method: "POST",
      headers: { "x-api-key": relay.firstRunKey!, "content-type": "application/json", ...headers },
      body: JSON.stringify(body)
    })

  before(async () => {
    const anthropicUrl = await anthropicMock.start()
    const openaiUrl = await openaiMock.start()
    relay = await startRelay({
      env: {
        ANTHROPIC_API_KEY: ANTHROPIC_KEY,
        ANTHROPIC_BASE_URL: anthropicUrl,
        OPENAI_API_KEY: OPENAI_KEY,
        OPENAI_BASE_URL: openaiUrl,
        GEMINI_API_KEY: GEMINI_KEY,
        GEMINI_BASE_URL: openaiUrl
      }
    })
    client = new Anthropic({ baseURL: relay.url, apiKey: relay.firstRunKey!, maxRetries: 0 })
  })

  after(async () => {
    await relay.stop()
    await anthropicMock.stop()
    await openaiMock.stop()
  })

  describe("to a Claude model: passthrough", () => {
    it("messages.create answers with the upstream's message, sending the shared key and the client's API version", async () => {
      const message = await client.messages.create({
        model: "claude-sonnet-4-6",
        max_tokens: 256,
        system: "Be terse.",
        messages: [{ role: "user", content: "hello over the relay" }]
      })
      assert.equal(message.content[0]?.type === "text" && message.content[0].text, "hello over the relay")
      assert.equal(message.model, "claude-sonnet-4-6")
      assert.equal(message.stop_reason, "end_turn")
      assert.equal(message.usage.input_tokens, 11)
      assert.equal(message.usage.cache_read_input_tokens, 40)
      assert.equal(message.usage.cache_creation_input_tokens, 5)
      const seen = anthropicMock.messages.at(-1)!
      assert.equal(seen.headers["x-api-key"], ANTHROPIC_KEY)
      assert.equal(seen.headers["anthropic-version"], "2026-10-21", "the SDK's own version travels")
      assert.equal(seen.headers.authorization, undefined, "the relay key is not forwarded")
      assert.ok(!JSON.stringify(seen.headers).includes(relay.firstRunKey!))
      assert.equal(seen.body.system, "Be terse.")
    })

    it("passes bodies through byte for byte, whole and streamed; sends 2023-06-01 when the client names no version; passes anthropic-beta", async () => {
      const whole = await raw("/messages", { model: "claude-sonnet-4-6", max_tokens: 64, messages: [{ role: "user", content: "bytes, exactly" }] }, {
        "anthropic-beta": "interleaved-thinking-2025-05-14,context-1m-2025-08-07"
      })
      assert.equal(whole.status, 200)
      assert.equal(await whole.text(), anthropicMock.messages.at(-1)!.response)
      const seen = anthropicMock.messages.at(-1)!
      assert.equal(seen.headers["anthropic-version"], "2023-06-01")
      assert.equal(seen.headers["anthropic-beta"], "interleaved-thinking-2025-05-14,context-1m-2025-08-07")

      const streamed = await raw("/messages", { model: "claude-sonnet-4-6", max_tokens: 64, stream: true, messages: [{ role: "user", content: "stream these words as sent" }] })
      assert.equal(streamed.headers.get("content-type"), "text/event-stream; charset=utf-8")
      assert.equal(await streamed.text(), anthropicMock.messages.at(-1)!.response)
    })

    it("messages.stream().finalMessage() reassembles the stream, and the request settles with Anthropic's usage", async () => {
      const stream = client.messages.stream({ model: "claude-sonnet-4-6", max_tokens: 128, messages: [{ role: "user", content: "one two three four" }] })
      const texts: Array<string> = []
      stream.on("text", (text) => texts.push(text))
      const message = await stream.finalMessage()
      assert.equal(message.content[0]?.type === "text" && message.content[0].text, "one two three four")
      assert.ok(texts.length >= 4, "text arrived in pieces")
      assert.equal(message.usage.output_tokens, 4)
      const id = (await stream.withResponse()).response.headers.get("x-request-id")!
      await eventually(async () => {
        const mine = (await settles(relay)).filter((s) => s.id === id)
        assert.equal(mine.length, 1)
        assert.deepEqual(mine[0]!.usage, {
          promptTokens: 11 + 5 + 40,
          completionTokens: 4,
          cachedTokens: 40,
          cacheWriteTokens: 5,
          imageInputTokens: 0,
          imageOutputTokens: 0,
          source: "upstream"
        })
      })
    })

    it("tool use round trip: the streamed input_json_delta fragments reassemble to the input; the tool result comes back", async () => {
      const first = await client.messages.stream({
        model: "claude-tools-1",
        max_tokens: 256,
        tools: [WEATHER_TOOL],
        messages: [{ role: "user", content: "Weather in Paris?" }]
      }).finalMessage()
      assert.equal(first.stop_reason, "tool_use")
      const use = first.content.find((block) => block.type === "tool_use")
      assert.ok(use?.type === "tool_use")
      assert.deepEqual(use.input, TOOL_INPUT)
      assert.equal(use.name, "get_weather")
      const second = await client.messages.create({
        model: "claude-tools-1",
        max_tokens: 256,
        tools: [WEATHER_TOOL],
        messages: [
          { role: "user", content: "Weather in Paris?" },
          { role: "assistant", content: first.content },
          { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "18C clear" }] }
        ]
      })
      assert.equal(second.content[0]?.type === "text" && second.content[0].text, "tool said: 18C clear")
    })

    it("countTokens is answered by the upstream", async () => {
      const count = await client.messages.countTokens({ model: "claude-sonnet-4-6", messages: [{ role: "user", content: "count me" }] })
      assert.equal(count.input_tokens, countTokensFor([1]))
      assert.equal(anthropicMock.requests.at(-1)!.path, "/v1/messages/count_tokens")
    })

    it("rewrites an alias, clamps max_tokens to the cap, and routes an uncatalogued claude-* model by pattern", async () => {
      const streamed = await client.messages.stream({ model: "house-claude", max_tokens: 32_000, messages: [{ role: "user", content: "alias" }] }).finalMessage()
      assert.equal(anthropicMock.messages.at(-1)!.body.model, "claude-haiku-4-5")
      assert.equal(anthropicMock.messages.at(-1)!.body.max_tokens, 1_500)
      assert.equal(streamed.model, "house-claude", "the client sees the alias it asked for")
      const whole = await client.messages.create({ model: "house-claude", max_tokens: 32, messages: [{ role: "user", content: "alias" }] })
      assert.equal(whole.model, "house-claude")
      const reply = await client.messages.create({ model: "claude-3-5-haiku-latest", max_tokens: 32, messages: [{ role: "user", content: "pattern" }] })
      assert.equal(reply.content[0]?.type === "text" && reply.content[0].text, "pattern")
      assert.equal(anthropicMock.messages.at(-1)!.body.model, "claude-3-5-haiku-latest")
    })

    it("shows thinking blocks and stop sequences as Claude sent them", async () => {
      const thought = await client.messages.create({ model: "claude-thinking-1", max_tokens: 64, messages: [{ role: "user", content: "think" }] })
      assert.deepEqual(thought.content[0], { type: "thinking", thinking: "Let me think.", signature: "sig-mock" })
      const stopped = await client.messages.create({ model: "claude-sonnet-4-6", max_tokens: 64, stop_sequences: ["three"], messages: [{ role: "user", content: "one two three four" }] })
      assert.equal(stopped.stop_reason, "stop_sequence")
      assert.equal(stopped.stop_sequence, "three")
    })

    it("a client that disconnects mid-stream aborts the upstream, and the request settles once as aborted", async () => {
      const controller = new AbortController()
      const stream = client.messages.stream({ model: "claude-slow", max_tokens: 512, messages: [{ role: "user", content: "long" }] }, { signal: controller.signal })
      let deltas = 0
      const id = (await stream.withResponse()).response.headers.get("x-request-id")!
      await assert.rejects(
        (async () => {
          for await (const event of stream) if (event.type === "content_block_delta" && ++deltas === 3) controller.abort()
        })()
      )
      const seen = anthropicMock.messages.at(-1)!
      await eventually(() => assert.equal(seen.aborted, true, "the upstream saw the relay hang up"))
      assert.ok(seen.chunksSent < 60, `upstream stopped early (sent ${seen.chunksSent})`)
      await eventually(async () => {
        const mine = (await settles(relay)).filter((s) => s.id === id)
        assert.equal(mine.length, 1)
        assert.equal(mine[0]!.aborted, true)
        assert.equal(mine[0]!.usage?.source, "estimated")
        assert.equal(mine[0]!.usage?.promptTokens, 56, "the input message_start reported")
      })
    })

    it("an upstream's mid-stream overloaded_error reaches the SDK, which raises it", async () => {
      const stream = client.messages.stream({ model: "claude-overloaded", max_tokens: 64, messages: [{ role: "user", content: "busy now" }] })
      await assert.rejects(stream.finalMessage(), (error: unknown) => error instanceof Anthropic.APIError && /Overloaded/.test(error.message))
    })
  })

  describe("to a GPT model: translated", () => {
    it("messages.create answers an Anthropic message from the chat completion, named as asked, with usage split into cached and not", async () => {
      const message = await client.messages.create({
        model: "gpt-4o-mini",
        max_tokens: 4_000,
        system: [{ type: "text", text: "Be terse." }],
        stop_sequences: ["END"],
        messages: [{ role: "user", content: "hello gpt" }]
      })
      assert.equal(message.type, "message")
      assert.equal(message.model, "gpt-4o-mini")
      assert.deepEqual(message.content, [{ type: "text", text: "hello gpt" }])
      assert.equal(message.stop_reason, "end_turn")
      // The mock counts 11 prompt tokens plus one per message (system, user): 13, of which 3 cached;
      // its 0 reasoning tokens are Anthropic's thinking tokens.
      assert.deepEqual(message.usage, {
        input_tokens: 10,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 3,
        output_tokens: 2,
        output_tokens_details: { thinking_tokens: 0 }
      })
      const seen = openaiMock.chats.at(-1)!
      assert.equal(seen.headers.authorization, `Bearer ${OPENAI_KEY}`)
      assert.deepEqual(seen.body, {
        model: "gpt-4o-mini",
        messages: [{ role: "system", content: "Be terse." }, { role: "user", content: "hello gpt" }],
        max_completion_tokens: 1_000,
        stop: ["END"]
      })
    })

    it("messages.stream().finalMessage() reassembles translated events, usage included, and settles from the upstream's usage", async () => {
      const stream = client.messages.stream({ model: "gpt-4o-mini", max_tokens: 64, messages: [{ role: "user", content: "alpha beta gamma" }] })
      const message = await stream.finalMessage()
      assert.deepEqual(message.content, [{ type: "text", text: "alpha beta gamma" }])
      assert.equal(message.stop_reason, "end_turn")
      assert.equal(message.model, "gpt-4o-mini")
      assert.deepEqual(message.usage.input_tokens, 9)
      assert.equal(message.usage.cache_read_input_tokens, 3)
      assert.equal(message.usage.output_tokens, 3)
      assert.deepEqual(openaiMock.chats.at(-1)!.body.stream_options, { include_usage: true })
      const id = (await stream.withResponse()).response.headers.get("x-request-id")!
      await eventually(async () => {
        const mine = (await settles(relay)).filter((s) => s.id === id)
        assert.equal(mine.length, 1)
        assert.equal(mine[0]!.usage?.source, "upstream")
        assert.equal(mine[0]!.usage?.promptTokens, 12)
        assert.equal(mine[0]!.usage?.cachedTokens, 3)
      })
    })

    for (const streaming of [true, false]) {
      it(`tool use round trip (${streaming ? "streamed" : "whole"}): tool calls become tool_use blocks, tool results become tool messages`, async () => {
        const request = { model: "mock-tools", max_tokens: 256, tools: [WEATHER_TOOL], messages: [{ role: "user" as const, content: "weather and time?" }] }
        const first = streaming ? await client.messages.stream(request).finalMessage() : await client.messages.create(request)
        assert.equal(first.stop_reason, "tool_use")
        assert.deepEqual(
          first.content.map((block) => block.type === "tool_use" ? { id: block.id, name: block.name, input: block.input } : block),
          TOOL_CALLS.map((call) => ({ id: call.id, name: call.name, input: JSON.parse(call.arguments) }))
        )
        const second = await client.messages.create({
          ...request,
          messages: [
            ...request.messages,
            { role: "assistant", content: first.content },
            {
              role: "user",
              content: [
                { type: "tool_result", tool_use_id: TOOL_CALLS[0]!.id, content: "sunny" },
                { type: "tool_result", tool_use_id: TOOL_CALLS[1]!.id, content: [{ type: "text", text: "noon" }] }
              ]
            }
          ]
        })
        assert.deepEqual(second.content, [{ type: "text", text: "tool said: sunny | noon" }])
        const sent = openaiMock.chats.at(-1)!.body.messages as Array<Record<string, unknown>>
        assert.deepEqual(sent.slice(1).map((m) => m.role), ["assistant", "tool", "tool"])
        assert.deepEqual(openaiMock.chats.at(-1)!.body.tools, [{
          type: "function",
          function: { name: "get_weather", description: "Weather by city", parameters: WEATHER_TOOL.input_schema }
        }])
      })
    }

    it("sends image blocks (base64 and URL) as image_url parts", async () => {
      await client.messages.create({
        model: "gpt-4o-mini",
        max_tokens: 32,
        messages: [{
          role: "user",
          content: [
            { type: "text", text: "compare" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: PIXEL } },
            { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } }
          ]
        }]
      })
      assert.deepEqual(openaiMock.chats.at(-1)!.body.messages, [{
        role: "user",
        content: [
          { type: "text", text: "compare" },
          { type: "image_url", image_url: { url: `data:image/png;base64,${PIXEL}` } },
          { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } }
        ]
      }])
    })

    it("countTokens answers the relay's estimate without calling the upstream", async () => {
      const before = openaiMock.requests.length
      const count = await client.messages.countTokens({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(40) }] })
      assert.equal(count.input_tokens, 10)
      assert.equal(openaiMock.requests.length, before)
    })

    it("an upstream 400 reaches the SDK as an Anthropic-shaped error naming the upstream's code, with the upstream key redacted", async () => {
      await assert.rejects(
        client.messages.create({ model: "mock-bad-request", max_tokens: 32, messages: [{ role: "user", content: "x" }] }),
        (error: unknown) => {
          assert.ok(error instanceof Anthropic.BadRequestError)
          assert.equal(error.type, "invalid_request_error")
          assert.match(error.message, /Invalid value for 'temperature'.*\(invalid_value\)/)
          assert.ok(!error.message.includes(OPENAI_KEY))
          return true
        }
      )
    })

    it("a catalog entry wins over the name patterns: claude-on-openai is served by OpenAI", async () => {
      const reply = await client.messages.create({ model: "claude-on-openai", max_tokens: 32, messages: [{ role: "user", content: "routed" }] })
      assert.equal(reply.model, "claude-on-openai")
      assert.equal(openaiMock.chats.at(-1)!.body.model, "gpt-4o-mini")
    })

    it("a gemini-* model goes to the google provider with the Gemini key", async () => {
      const reply = await client.messages.create({ model: "gemini-2.5-flash", max_tokens: 32, messages: [{ role: "user", content: "hi gemini" }] })
      assert.deepEqual(reply.content, [{ type: "text", text: "hi gemini" }])
      const seen = openaiMock.chats.at(-1)!
      assert.equal(seen.headers.authorization, `Bearer ${GEMINI_KEY}`)
      assert.equal(seen.body.model, "gemini-2.5-flash")
    })
  })

  describe("to the echo model, offline", () => {
    it("answers in Anthropic's wire format, streamed too, with counts that match countTokens", async () => {
      const request = { model: "echo-1", max_tokens: 64, messages: [{ role: "user" as const, content: "echo echo echo" }] }
      const whole = await client.messages.create(request)
      assert.deepEqual(whole.content, [{ type: "text", text: "echo echo echo" }])
      const streamed = await client.messages.stream(request).finalMessage()
      assert.deepEqual(streamed.content, whole.content)
      const count = await client.messages.countTokens({ model: "echo-1", messages: request.messages })
      assert.equal(whole.usage.input_tokens, count.input_tokens)
      assert.equal(streamed.usage.input_tokens, count.input_tokens)
      assert.ok(whole.usage.output_tokens > 0)
    })
  })

  it("never writes an upstream key or the relay key to its output", () => {
    const output = relay.output().replace(relay.firstRunKey!, "")
    for (const key of [ANTHROPIC_KEY, OPENAI_KEY, GEMINI_KEY]) assert.ok(!output.includes(key), key)
    assert.ok(!output.includes("sk-rr-"))
  })
})
