import assert from "node:assert/strict"
import { describe, it } from "node:test"
import fc from "fast-check"
import { AnthropicUsageTap } from "../../core/sse/anthropic-usage-tap.ts"
import { passthrough } from "../../core/sse/passthrough.ts"
import { concatBytes, cutAt, enc, readAll, sourceOf } from "./stream-helpers.ts"

const event = (data: Record<string, unknown>) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`

const EVENTS = [
  event({ type: "message_start", message: { id: "msg_1", type: "message", role: "assistant", content: [], usage: { input_tokens: 40, cache_creation_input_tokens: 6, cache_read_input_tokens: 412, output_tokens: 1 } } }),
  event({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
  event({ type: "ping" }),
  // A text that mentions "usage" must not be taken for a usage object.
  event({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "the \"usage\": {} field" } }),
  event({ type: "content_block_stop", index: 0 }),
  event({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 58, input_tokens: null } }),
  event({ type: "message_stop" })
]
const STREAM = enc.encode(EVENTS.join(""))

const hooks = { firstByte: () => undefined, end: async () => undefined, failureEvent: new Uint8Array() }

describe("AnthropicUsageTap", () => {
  it("reads input and cache counts from message_start and the output from message_delta", () => {
    const tap = new AnthropicUsageTap()
    for (const e of EVENTS) assert.equal(tap.event(enc.encode(e)), true, "never keeps an event from the client")
    assert.deepEqual(tap.usage(() => 0), {
      promptTokens: 458,
      completionTokens: 58,
      cachedTokens: 412,
      cacheWriteTokens: 6,
      imageInputTokens: 0,
      imageOutputTokens: 0,
      source: "upstream"
    })
  })

  it("takes cumulative input counts from message_delta when it carries them", () => {
    const tap = new AnthropicUsageTap()
    tap.event(enc.encode(EVENTS[0]!))
    tap.event(enc.encode(event({ type: "message_delta", delta: {}, usage: { output_tokens: 9, input_tokens: 50, cache_read_input_tokens: null } })))
    const usage = tap.usage(() => 0)
    assert.equal(usage.promptTokens, 50 + 6 + 412)
    assert.equal(usage.completionTokens, 9)
  })

  it("estimates a stream cut before message_delta, keeping what message_start reported", () => {
    const tap = new AnthropicUsageTap()
    for (const e of EVENTS.slice(0, 4)) tap.event(enc.encode(e))
    const usage = tap.usage(() => 1234)
    assert.equal(usage.source, "estimated")
    assert.equal(usage.promptTokens, 458)
    assert.equal(usage.cachedTokens, 412)
    assert.ok(usage.completionTokens >= 1)
    const empty = new AnthropicUsageTap()
    assert.equal(empty.usage(() => 1234).promptTokens, 1234, "nothing reported: the relay's own count")
  })

  it("passes the stream through byte for byte, for any chunk split", async () => {
    await fc.assert(fc.asyncProperty(
      fc.uniqueArray(fc.integer({ min: 1, max: STREAM.length - 1 }), { maxLength: 30 }).map((cuts) => cuts.sort((a, b) => a - b)),
      async (cuts) => {
        const tap = new AnthropicUsageTap()
        const chunks = cutAt(STREAM, cuts)
        const out = await readAll(passthrough(sourceOf(chunks).reader, tap, hooks))
        // Every chunk goes on as the very same object but the one that ends the stream, which
        // goes as two views of itself (no copy): what precedes message_stop at once, the event
        // itself once the settle is done.
        const kept = out.filter((chunk) => chunks.includes(chunk))
        assert.ok(kept.length >= chunks.length - 1 && out.length <= chunks.length + 1, "the very same chunk objects")
        const buffers = new Set(chunks.map((chunk) => chunk.buffer))
        assert.ok(out.every((chunk) => buffers.has(chunk.buffer)), "no chunk is a copy")
        assert.deepEqual(concatBytes(out), STREAM)
        assert.equal(tap.usage(() => 0).completionTokens, 58)
      }
    ), { numRuns: 100 })
  })
})
