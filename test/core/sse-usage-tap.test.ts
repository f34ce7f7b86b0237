import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { passthrough } from "../../core/sse/passthrough.ts"
import { OpenAIUsageTap } from "../../core/sse/usage-tap.ts"
import { concatBytes, cutAt, dec, enc, prng, randomCuts, readAll, sourceOf } from "./stream-helpers.ts"

const chunk = (fields: Record<string, unknown>) =>
  `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "gpt-4o", ...fields })}\n\n`

const content = (text: string, finish: string | null = null) =>
  chunk({ choices: [{ index: 0, delta: { content: text }, finish_reason: finish }], usage: null })

const USAGE_CHUNK = chunk({
  choices: [],
  usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17, prompt_tokens_details: { cached_tokens: 4 } }
})
const DONE = "data: [DONE]\n\n"

const CONTENT_EVENTS = [
  chunk({ choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }], usage: null }),
  content("Hi"),
  content(" there, café 🚀"),
  content("", "stop")
]
const STREAM_EVENTS = [...CONTENT_EVENTS, USAGE_CHUNK, DONE]

const feed = (tap: OpenAIUsageTap, events: ReadonlyArray<string>) => events.map((e) => tap.event(enc.encode(e)))

/** Reads usage through a call, so an earlier `assert.equal(tap.usage, undefined)` does not narrow it. */
const usageOf = (tap: OpenAIUsageTap) => tap.usage

const noopHooks = { firstByte: () => undefined, end: async () => undefined, failureEvent: new Uint8Array() }

describe("OpenAIUsageTap", () => {
  it("reads the upstream usage from the usage-only chunk", () => {
    const tap = new OpenAIUsageTap(false)
    assert.equal(tap.usage, undefined)
    feed(tap, STREAM_EVENTS)
    assert.deepEqual(tap.usage, {
      promptTokens: 12,
      completionTokens: 5,
      cachedTokens: 4,
      cacheWriteTokens: 0,
      imageInputTokens: 0,
      imageOutputTokens: 0,
      source: "upstream"
    })
  })

  it("counts data events, [DONE] included, and not comments", () => {
    const tap = new OpenAIUsageTap(false)
    feed(tap, [": keep-alive\n\n", ...STREAM_EVENTS])
    assert.equal(tap.dataEvents, STREAM_EVENTS.length)
  })

  it("with filters=true keeps everything but the usage-only chunk", () => {
    const tap = new OpenAIUsageTap(true)
    const kept = feed(tap, STREAM_EVENTS)
    assert.deepEqual(kept, [true, true, true, true, false, true])
    assert.equal(tap.usage?.promptTokens, 12)
  })

  it("with filters=false keeps every event", () => {
    const tap = new OpenAIUsageTap(false)
    assert.deepEqual(feed(tap, STREAM_EVENTS), STREAM_EVENTS.map(() => true))
    assert.equal(tap.usage?.completionTokens, 5)
  })

  it("keeps a final chunk that has both choices and usage, even when filtering", () => {
    const tap = new OpenAIUsageTap(true)
    const both = chunk({
      choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }
    })
    assert.equal(tap.event(enc.encode(both)), true)
    assert.equal(tap.usage?.promptTokens, 3)
    assert.equal(tap.usage?.cachedTokens, 0)
  })

  it("is not confused by the text \"usage\":{ inside a content string", () => {
    const tricky = content('here is JSON: {"usage":{"prompt_tokens":999}} and "usage":{')
    assert.ok(tricky.includes('\\"usage\\":{'), "the fixture carries the escaped text")
    for (const filters of [true, false]) {
      const tap = new OpenAIUsageTap(filters)
      assert.equal(tap.event(enc.encode(tricky)), true)
      assert.equal(tap.usage, undefined)
      assert.deepEqual(feed(tap, [USAGE_CHUNK]), [!filters])
      assert.equal(usageOf(tap)?.promptTokens, 12)
    }
  })

  it("reads usage from JSON written with whitespace (\"usage\": {), as OpenAI-compatible servers may send", () => {
    const spaced = 'data: {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], ' +
      '"usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}}\n\n'
    const tap = new OpenAIUsageTap(true)
    assert.equal(tap.event(enc.encode(spaced)), false, "the usage-only chunk is hidden")
    assert.equal(tap.usage?.promptTokens, 12)
    assert.equal(tap.usage?.completionTokens, 5)
  })

  it("keeps events whose data is not JSON, and leaves usage unset", () => {
    const tap = new OpenAIUsageTap(true)
    assert.equal(tap.event(enc.encode('data: {"usage":{ broken\n\n')), true)
    assert.equal(tap.usage, undefined)
  })

  it("a later usage chunk replaces an earlier one", () => {
    const tap = new OpenAIUsageTap(false)
    feed(tap, [USAGE_CHUNK, chunk({ choices: [], usage: { prompt_tokens: 20, completion_tokens: 7 } })])
    assert.equal(tap.usage?.promptTokens, 20)
    assert.equal(tap.usage?.cachedTokens, 0)
  })

  it("reads usage from a stream whose lines end with a lone CR, and still forwards its bytes unchanged", async () => {
    const events = STREAM_EVENTS.map((event) => event.replace(/\n\n$/, "\r\r"))
    const bytes = enc.encode(events.join(""))
    for (const filters of [true, false]) {
      const tap = new OpenAIUsageTap(filters)
      const out = await readAll(passthrough(sourceOf(cutAt(bytes, [100, 101, 400])).reader, tap, noopHooks))
      assert.equal(usageOf(tap)?.promptTokens, 12, `filters=${filters}`)
      assert.equal(tap.dataEvents, events.length)
      const expected = filters ? events.filter((_, i) => STREAM_EVENTS[i] !== USAGE_CHUNK) : events
      assert.equal(dec.decode(concatBytes(out)), expected.join(""), `filters=${filters}`)
    }
  })

  it("reads usage from a CRLF-terminated event", () => {
    const tap = new OpenAIUsageTap(true)
    assert.equal(tap.event(enc.encode(USAGE_CHUNK.replace(/\n\n$/, "\r\n\r\n"))), false)
    assert.equal(tap.usage?.completionTokens, 5)
  })
})

describe("OpenAIUsageTap through passthrough", () => {
  const run = async (events: ReadonlyArray<string>, filters: boolean, cuts: ReadonlyArray<number>) => {
    const bytes = enc.encode(events.join(""))
    const tap = new OpenAIUsageTap(filters)
    const out = await readAll(passthrough(sourceOf(cutAt(bytes, cuts)).reader, tap, noopHooks))
    return { text: dec.decode(concatBytes(out)), tap }
  }

  it("hides the usage-only chunk from a client that did not ask, for every split", async () => {
    const full = STREAM_EVENTS.join("")
    const length = enc.encode(full).length
    const expected = [...CONTENT_EVENTS, DONE].join("")
    for (let cut = 0; cut <= length; cut++) {
      const { text, tap } = await run(STREAM_EVENTS, true, [cut])
      assert.equal(text, expected, `cut at ${cut}`)
      assert.equal(tap.usage?.promptTokens, 12, `cut at ${cut}`)
    }
  })

  it("passes a tool-call stream split over many chunks through unchanged", async () => {
    const toolEvents = [
      chunk({
        choices: [{
          index: 0,
          delta: {
            role: "assistant",
            content: null,
            tool_calls: [{ index: 0, id: "call_abc", type: "function", function: { name: "get_weather", arguments: "" } }]
          },
          finish_reason: null
        }],
        usage: null
      }),
      ...['{"', 'location', '":"', 'Paris, ', 'Île-de-France', '","usage":{"x":1}', '"}'].map((args) =>
        chunk({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: args } }] }, finish_reason: null }], usage: null })
      ),
      chunk({ choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }], usage: null }),
      USAGE_CHUNK,
      DONE
    ]
    const full = toolEvents.join("")
    const length = enc.encode(full).length
    const random = prng(7)
    for (let round = 0; round < 100; round++) {
      const cuts = randomCuts(length, random, 40)
      const unfiltered = await run(toolEvents, false, cuts)
      assert.equal(unfiltered.text, full, `round ${round}`)
      assert.equal(unfiltered.tap.usage?.completionTokens, 5)
      const filtered = await run(toolEvents, true, cuts)
      assert.equal(filtered.text, toolEvents.filter((e) => e !== USAGE_CHUNK).join(""), `round ${round}`)
      assert.equal(filtered.tap.usage?.cachedTokens, 4)
    }
  })

  it("leaves usage undefined for a stream cut before the usage chunk, counting data events", async () => {
    const { tap, text } = await run(CONTENT_EVENTS, true, [17])
    assert.equal(text, CONTENT_EVENTS.join(""))
    assert.equal(tap.usage, undefined)
    assert.equal(tap.dataEvents, CONTENT_EVENTS.length)
  })
})
