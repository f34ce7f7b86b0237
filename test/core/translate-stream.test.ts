import { webStream } from "../../core/chunk-reader.ts"
import assert from "node:assert/strict"
import { describe, it } from "node:test"
import fc from "fast-check"
import { AnthropicToOpenAIStream } from "../../core/translate/anthropic-stream-to-openai.ts"
import { OpenAIToAnthropicStream } from "../../core/translate/openai-stream-to-anthropic.ts"
import { cutAt, enc, sourceOf } from "./stream-helpers.ts"
import { FAILURE, parseSse, readAnthropicStream, readOpenAIStream, translate } from "./translate-helpers.ts"
import { translateStream } from "../../core/sse/translate.ts"
import type { StreamEnd } from "../../core/sse/passthrough.ts"

const anthropicEvent = (data: Record<string, unknown>) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`

/** PROTOCOLS.md 2.4: thinking, text, a ping, a tool use in two fragments, then the stop. */
const ANTHROPIC_EVENTS = [
  { type: "message_start", message: { id: "msg_01A", type: "message", role: "assistant", model: "claude-sonnet-4-5", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 40, cache_creation_input_tokens: 0, cache_read_input_tokens: 412, output_tokens: 1 } } },
  { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "", signature: "" } },
  { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "User wants weather…" } },
  { type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "EqQB…" } },
  { type: "content_block_stop", index: 0 },
  { type: "content_block_start", index: 1, content_block: { type: "text", text: "" } },
  { type: "ping" },
  { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "Checking." } },
  { type: "content_block_stop", index: 1 },
  { type: "content_block_start", index: 2, content_block: { type: "tool_use", id: "toolu_01C", name: "get_weather", input: {} } },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: "{\"city\": \"Ro" } },
  { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: "me\"}" } },
  { type: "content_block_stop", index: 2 },
  { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 58 } },
  { type: "message_stop" }
].map(anthropicEvent)
const ANTHROPIC_STREAM = enc.encode(ANTHROPIC_EVENTS.join(""))

const chunk = (choices: ReadonlyArray<unknown>, usage: unknown = null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-9x", object: "chat.completion.chunk", created: 1730000000, model: "gpt-4o", choices, usage })}\n\n`
const delta = (d: Record<string, unknown>, finish: string | null = null) => chunk([{ index: 0, delta: d, finish_reason: finish }])

/** PROTOCOLS.md 1.3: two tool calls (the first in fragments), the stop, the usage chunk, [DONE]; plus text first. */
const OPENAI_EVENTS = [
  delta({ role: "assistant", content: "", refusal: null }),
  delta({ content: "Let me " }),
  delta({ content: "look." }),
  delta({ tool_calls: [{ index: 0, id: "call_a1", type: "function", function: { name: "get_weather", arguments: "" } }] }),
  delta({ tool_calls: [{ index: 0, function: { arguments: "{\"city\":" } }] }),
  delta({ tool_calls: [{ index: 0, function: { arguments: "\"Paris\"}" } }] }),
  delta({ tool_calls: [{ index: 1, id: "call_b2", type: "function", function: { name: "get_time", arguments: "" } }] }),
  delta({}, "tool_calls"),
  chunk([], { prompt_tokens: 120, completion_tokens: 25, total_tokens: 145, prompt_tokens_details: { cached_tokens: 64 }, completion_tokens_details: { reasoning_tokens: 0 } }),
  "data: [DONE]\n\n"
]
const OPENAI_STREAM = enc.encode(OPENAI_EVENTS.join(""))

const toOpenAI = (includeUsage = true) => new AnthropicToOpenAIStream({ model: "my-claude", includeUsage, promptTokens: () => 999 })
const toAnthropic = () => new OpenAIToAnthropicStream({ model: "my-gpt", promptTokens: () => 999 })

describe("Anthropic stream -> OpenAI chunks", () => {
  it("translates the recorded stream: text, the tool call's fragments, finish reason, usage with cache, [DONE]", async () => {
    const translator = toOpenAI()
    const { text, ends } = await translate(translator, [ANTHROPIC_STREAM])
    const read = readOpenAIStream(text)
    assert.equal(read.content, "Checking.")
    assert.equal(read.reasoning, "User wants weather…", "thinking arrives as reasoning_content")
    assert.deepEqual(read.calls, [{ id: "toolu_01C", name: "get_weather", arguments: "{\"city\": \"Rome\"}" }])
    assert.equal(read.finish, "tool_calls")
    assert.equal(read.done, true)
    assert.deepEqual(read.usage, {
      prompt_tokens: 452,
      completion_tokens: 58,
      total_tokens: 510,
      prompt_tokens_details: { cached_tokens: 412 },
      completion_tokens_details: { reasoning_tokens: 0 }
    })
    assert.deepEqual(ends, [{ kind: "complete" }])
    assert.deepEqual(translator.usage(), {
      promptTokens: 452,
      completionTokens: 58,
      cachedTokens: 412,
      cacheWriteTokens: 0,
      imageInputTokens: 0,
      imageOutputTokens: 0,
      source: "upstream"
    })
    const events = parseSse(text)
    assert.ok(events.some((e) => e.comment), "ping becomes an SSE comment")
    const chunks = events.filter((e) => e.data && e.data !== "[DONE]").map((e) => JSON.parse(e.data!))
    assert.ok(chunks.every((c) => c.model === "my-claude" && c.id === "msg_01A" && c.object === "chat.completion.chunk"))
    assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant", content: "" })
  })

  it("sends no usage chunk to a client that did not ask, and no usage field on chunks", async () => {
    const { text } = await translate(toOpenAI(false), [ANTHROPIC_STREAM])
    const read = readOpenAIStream(text)
    assert.equal(read.usage, undefined)
    assert.ok(!text.includes("\"usage\""))
    assert.ok(!text.includes("\"choices\":[]"))
  })

  it("reassembles a tool call streamed as many small fragments over chunks cut at every few bytes", async () => {
    const args = JSON.stringify({ query: "weather in Zürich", days: [1, 2, 3], units: { temp: "celsius" } })
    const fragments = args.match(/.{1,3}/gsu)!
    const events = [
      ANTHROPIC_EVENTS[0]!,
      anthropicEvent({ type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_1", name: "search", input: {} } }),
      ...fragments.map((partial_json) => anthropicEvent({ type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json } })),
      anthropicEvent({ type: "content_block_stop", index: 0 }),
      anthropicEvent({ type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "toolu_2", name: "noop", input: {} } }),
      anthropicEvent({ type: "content_block_stop", index: 1 }),
      anthropicEvent({ type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 30 } }),
      anthropicEvent({ type: "message_stop" })
    ]
    const bytes = enc.encode(events.join(""))
    const cuts = Array.from({ length: Math.floor(bytes.length / 7) }, (_, i) => (i + 1) * 7)
    const { text } = await translate(toOpenAI(), cutAt(bytes, cuts))
    const read = readOpenAIStream(text)
    assert.deepEqual(read.calls, [{ id: "toolu_1", name: "search", arguments: args }, { id: "toolu_2", name: "noop", arguments: "{}" }])
    assert.deepEqual(JSON.parse(read.calls[0]!.arguments), JSON.parse(args))
  })

  it("gives a tool use without input fragments, or with only empty ones, the arguments {}", async () => {
    const events = [
      ANTHROPIC_EVENTS[0]!,
      anthropicEvent({ type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_1", name: "now", input: {} } }),
      anthropicEvent({ type: "content_block_stop", index: 0 }),
      anthropicEvent({ type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "toolu_2", name: "today", input: {} } }),
      anthropicEvent({ type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: "" } }),
      anthropicEvent({ type: "content_block_stop", index: 1 }),
      anthropicEvent({ type: "content_block_start", index: 2, content_block: { type: "tool_use", id: "toolu_3", name: "get_weather", input: {} } }),
      anthropicEvent({ type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: "" } }),
      anthropicEvent({ type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: "{\"city\":\"Oslo\"}" } }),
      anthropicEvent({ type: "content_block_stop", index: 2 }),
      anthropicEvent({ type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 9 } }),
      anthropicEvent({ type: "message_stop" })
    ]
    const { text } = await translate(toOpenAI(), [enc.encode(events.join(""))])
    assert.deepEqual(readOpenAIStream(text).calls, [
      { id: "toolu_1", name: "now", arguments: "{}" },
      { id: "toolu_2", name: "today", arguments: "{}" },
      { id: "toolu_3", name: "get_weather", arguments: "{\"city\":\"Oslo\"}" }
    ])
  })

  it("maps each stop reason to its finish reason", async () => {
    const cases = { end_turn: "stop", stop_sequence: "stop", max_tokens: "length", tool_use: "tool_calls", refusal: "content_filter", pause_turn: "stop", model_context_window_exceeded: "length" }
    for (const [stop, finish] of Object.entries(cases)) {
      const events = [
        ANTHROPIC_EVENTS[0]!,
        anthropicEvent({ type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 1 } }),
        anthropicEvent({ type: "message_stop" })
      ]
      const { text } = await translate(toOpenAI(), [enc.encode(events.join(""))])
      assert.equal(readOpenAIStream(text).finish, finish, stop)
    }
  })

  it("finishes once when Anthropic sends more than one message_delta, keeping the last usage", async () => {
    const events = [
      ANTHROPIC_EVENTS[0]!,
      anthropicEvent({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 5 } }),
      anthropicEvent({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 7 } }),
      anthropicEvent({ type: "message_stop" })
    ]
    const { text } = await translate(toOpenAI(), [enc.encode(events.join(""))])
    assert.equal(text.match(/"finish_reason":"stop"/g)?.length, 1)
    assert.equal(readOpenAIStream(text).usage?.completion_tokens, 7)
  })

  it("reports the thinking tokens of message_delta as reasoning tokens", async () => {
    const events = [
      ANTHROPIC_EVENTS[0]!,
      anthropicEvent({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 50, output_tokens_details: { thinking_tokens: 42 } } }),
      anthropicEvent({ type: "message_stop" })
    ]
    const translator = toOpenAI()
    const { text } = await translate(translator, [enc.encode(events.join(""))])
    assert.deepEqual(readOpenAIStream(text).usage?.completion_tokens_details, { reasoning_tokens: 42 })
    assert.equal(translator.usage().reasoningTokens, 42)
  })

  for (const how of ["closes cleanly", "errors"] as const) {
    it(`a stream the upstream cuts mid-event (${how}) ends with the client's failure event, reported failed, usage estimated from what arrived`, async () => {
      const whole = ANTHROPIC_EVENTS.slice(0, 8).join("")
      const half = ANTHROPIC_EVENTS[8]!.slice(0, 20)
      const chunks = [enc.encode(whole), enc.encode(half)]
      const translator = toOpenAI()
      const { text, ends } = await translate(translator, chunks, how === "errors" ? { failAfter: 2 } : {})
      assert.ok(text.endsWith(new TextDecoder().decode(FAILURE)), "the failure event closes the stream")
      assert.equal(readOpenAIStream(text).content, "Checking.", "everything before the cut was delivered")
      assert.ok(!text.includes("[DONE]"))
      assert.equal(ends.length, 1)
      assert.equal(ends[0]!.kind, "failed")
      const usage = translator.usage()
      assert.equal(usage.source, "estimated")
      assert.equal(usage.promptTokens, 452, "the input message_start reported is kept")
      assert.equal(usage.cachedTokens, 412)
      assert.ok(usage.completionTokens >= 1)
    })
  }

  it("turns an upstream error event into an OpenAI error chunk, and reports failed", async () => {
    const events = [
      ANTHROPIC_EVENTS[0]!,
      "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
    ]
    const { text, ends } = await translate(toOpenAI(), [enc.encode(events.join(""))])
    const read = readOpenAIStream(text)
    assert.deepEqual(read.error, { message: "Overloaded", type: "server_error", param: null, code: null })
    assert.ok(!text.endsWith(new TextDecoder().decode(FAILURE)), "no second error")
    assert.equal(ends[0]!.kind, "failed")
  })
})

describe("OpenAI stream -> Anthropic events", () => {
  it("translates the recorded stream: text and tool-use blocks in order, stop reason, usage with cache", async () => {
    const translator = toAnthropic()
    const { text, ends } = await translate(translator, [OPENAI_STREAM])
    const { message, stopped } = readAnthropicStream(text)
    assert.equal(stopped, true)
    assert.equal(message!.model, "my-gpt")
    assert.equal(message!.id, "chatcmpl-9x")
    assert.deepEqual(message!.content, [
      { type: "text", text: "Let me look." },
      { type: "tool_use", id: "call_a1", name: "get_weather", input: { city: "Paris" } },
      { type: "tool_use", id: "call_b2", name: "get_time", input: {} }
    ])
    assert.equal(message!.stop_reason, "tool_use")
    assert.equal(message!.stop_sequence, null)
    assert.deepEqual(message!.usage, { input_tokens: 56, cache_creation_input_tokens: 0, cache_read_input_tokens: 64, output_tokens: 25, output_tokens_details: { thinking_tokens: 0 } })
    const start = JSON.parse(parseSse(text)[0]!.data!)
    assert.deepEqual(start.message.usage, { input_tokens: 0, output_tokens: 0 }, "OpenAI reports input only at the end")
    assert.deepEqual(ends, [{ kind: "complete" }])
    assert.equal(translator.usage().promptTokens, 120)
    assert.equal(translator.usage().source, "upstream")
  })

  it("streams reasoning_content (DeepSeek, vLLM) or reasoning (Ollama) as a thinking block before the text", async () => {
    for (const field of ["reasoning_content", "reasoning"]) {
      const events = [
        delta({ role: "assistant", content: "" }),
        delta({ [field]: "Think " }),
        delta({ [field]: "hard." }),
        delta({ content: "Done." }),
        delta({}, "stop"),
        chunk([], { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 }),
        "data: [DONE]\n\n"
      ]
      const { text } = await translate(toAnthropic(), [enc.encode(events.join(""))])
      const { message, stopped } = readAnthropicStream(text)
      assert.equal(stopped, true)
      assert.deepEqual(message!.content, [{ type: "thinking", thinking: "Think hard.", signature: "" }, { type: "text", text: "Done." }], field)
    }
  })

  it("translates a stream whose lines end with a lone CR as it does one with LFs", async () => {
    const crOnly = enc.encode(OPENAI_EVENTS.map((event) => event.replace(/\n\n$/, "\r\r")).join(""))
    const expected = await translate(toAnthropic(), [OPENAI_STREAM])
    const got = await translate(toAnthropic(), cutAt(crOnly, [50, 51, 700]))
    assert.equal(got.text, expected.text)
    assert.deepEqual(got.ends, [{ kind: "complete" }])
  })

  it("holds message_delta after finish_reason until the usage chunk arrives", async () => {
    const translator = toAnthropic()
    const before = OPENAI_EVENTS.slice(0, 8).map((e) => translator.event(enc.encode(e))).join("")
    assert.ok(before.includes("content_block_stop"))
    assert.ok(!before.includes("message_delta"), "the stop waits for the usage")
    const after = translator.event(enc.encode(OPENAI_EVENTS[8]!))
    assert.match(after, /^event: message_delta\n/)
    assert.match(after, /event: message_stop\n/)
    assert.equal(translator.event(enc.encode(OPENAI_EVENTS[9]!)), "", "[DONE] adds nothing after message_stop")
  })

  it("finishes on [DONE] or the end of the stream when the upstream sends no usage, with an estimate", async () => {
    for (const tail of [["data: [DONE]\n\n"], []]) {
      const translator = toAnthropic()
      const events = [delta({ role: "assistant", content: "" }), delta({ content: "hi" }), delta({}, "length"), ...tail]
      const { text, ends } = await translate(translator, [enc.encode(events.join(""))])
      const { message, stopped } = readAnthropicStream(text)
      assert.equal(stopped, true)
      assert.equal(message!.stop_reason, "max_tokens")
      assert.equal(message!.usage.input_tokens, 999, "the relay's estimate of the prompt")
      assert.deepEqual(ends, [{ kind: "complete" }])
      assert.equal(translator.usage().source, "estimated")
    }
  })

  it("reports reasoning tokens as thinking tokens in the final message_delta, only when the upstream counted them", async () => {
    const usageOf = async (usage: Record<string, unknown>) => {
      const events = [delta({ content: "hi" }, "stop"), chunk([], { prompt_tokens: 5, completion_tokens: 30, total_tokens: 35, ...usage }), "data: [DONE]\n\n"]
      return readAnthropicStream((await translate(toAnthropic(), [enc.encode(events.join(""))])).text).message!.usage
    }
    assert.deepEqual((await usageOf({ completion_tokens_details: { reasoning_tokens: 16 } })).output_tokens_details, { thinking_tokens: 16 })
    assert.equal((await usageOf({})).output_tokens_details, undefined)
  })

  it("routes argument fragments by their tool-call index", async () => {
    const events = [
      delta({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "a", arguments: "{\"x\":" } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }),
      delta({ tool_calls: [{ index: 1, id: "call_2", type: "function", function: { name: "b", arguments: "" } }] }),
      delta({ tool_calls: [{ index: 1, function: { arguments: "{\"y\":2}" } }] }),
      delta({}, "tool_calls"),
      chunk([], { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 }),
      "data: [DONE]\n\n"
    ]
    const { text } = await translate(toAnthropic(), [enc.encode(events.join(""))])
    const { message } = readAnthropicStream(text)
    assert.deepEqual(message!.content.map((b) => b.input), [{ x: 1 }, { y: 2 }])
  })

  it("maps each finish reason to its stop reason, and a refusal to refusal", async () => {
    const cases = { stop: "end_turn", length: "max_tokens", tool_calls: "tool_use", function_call: "tool_use", content_filter: "refusal" }
    for (const [finish, stop] of Object.entries(cases)) {
      const { text } = await translate(toAnthropic(), [enc.encode([delta({ content: "x" }, finish), "data: [DONE]\n\n"].join(""))])
      assert.equal(readAnthropicStream(text).message!.stop_reason, stop, finish)
    }
    const refusal = [delta({ refusal: "I can't help with that." }), delta({}, "stop"), "data: [DONE]\n\n"].join("")
    const { message } = readAnthropicStream((await translate(toAnthropic(), [enc.encode(refusal)])).text)
    assert.equal(message!.stop_reason, "refusal")
    assert.deepEqual(message!.content, [{ type: "text", text: "I can't help with that." }])
  })

  for (const how of ["closes cleanly", "errors"] as const) {
    it(`a stream the upstream cuts mid-event (${how}) ends with the client's failure event, reported failed`, async () => {
      const whole = OPENAI_EVENTS.slice(0, 5).join("")
      const chunks = [enc.encode(whole), enc.encode(OPENAI_EVENTS[5]!.slice(0, 30))]
      const translator = toAnthropic()
      const { text, ends } = await translate(translator, chunks, how === "errors" ? { failAfter: 2 } : {})
      assert.ok(text.endsWith(new TextDecoder().decode(FAILURE)))
      assert.ok(!text.includes("message_stop"))
      assert.equal(ends[0]!.kind, "failed")
      assert.equal(translator.usage().source, "estimated")
      assert.equal(translator.usage().promptTokens, 999)
    })
  }

  it("turns an upstream error chunk into an Anthropic error event", async () => {
    const events = [delta({ content: "x" }), `data: ${JSON.stringify({ error: { message: "The server had an error", type: "server_error" } })}\n\n`]
    const { text, ends } = await translate(toAnthropic(), [enc.encode(events.join(""))])
    const { error } = readAnthropicStream(text)
    assert.deepEqual(error, { type: "api_error", message: "The server had an error" })
    assert.equal(ends[0]!.kind, "failed")
  })
})

describe("translated streams and the client", () => {
  it("cancelling the client's stream cancels the upstream body and reports aborted once", async () => {
    const source = sourceOf(ANTHROPIC_EVENTS.map((e) => enc.encode(e)))
    const ends: Array<StreamEnd> = []
    const stream = webStream(translateStream(source.reader, toOpenAI(), { firstByte: () => undefined, end: async (e) => void ends.push(e), failureEvent: FAILURE }))
    const reader = stream.getReader()
    await reader.read()
    await reader.cancel()
    assert.deepEqual(ends, [{ kind: "aborted" }])
    assert.equal(source.cancels.length, 1, "the upstream body was cancelled")
  })
})

/** Any split of a stream into chunks, down to single bytes. */
const splits = (length: number) =>
  fc.uniqueArray(fc.integer({ min: 1, max: length - 1 }), { maxLength: 40 }).map((cuts) => cuts.sort((a, b) => a - b))

describe("property: any chunk split of a stream translates to the same bytes", () => {
  it("Anthropic -> OpenAI", async () => {
    const { text: reference } = await translate(toOpenAI(), [ANTHROPIC_STREAM])
    await fc.assert(fc.asyncProperty(splits(ANTHROPIC_STREAM.length), async (cuts) => {
      const { text, ends } = await translate(toOpenAI(), cutAt(ANTHROPIC_STREAM, cuts))
      // `created` is the translator's clock: compare with it pinned.
      assert.equal(text.replace(/"created":\d+/g, ""), reference.replace(/"created":\d+/g, ""))
      assert.deepEqual(ends, [{ kind: "complete" }])
    }), { numRuns: 200 })
  })

  it("OpenAI -> Anthropic", async () => {
    const { text: reference } = await translate(toAnthropic(), [OPENAI_STREAM])
    await fc.assert(fc.asyncProperty(splits(OPENAI_STREAM.length), async (cuts) => {
      const { text, ends } = await translate(toAnthropic(), cutAt(OPENAI_STREAM, cuts))
      assert.equal(text, reference)
      assert.deepEqual(ends, [{ kind: "complete" }])
    }), { numRuns: 200 })
  })
})
