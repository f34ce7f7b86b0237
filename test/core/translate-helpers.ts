/** Reading translated streams as the SDKs would (not a test file itself). */
import assert from "node:assert/strict"
import type { StreamEnd } from "../../core/sse/passthrough.ts"
import { type StreamTranslator, translateStream } from "../../core/sse/translate.ts"
import { concatBytes, dec, enc, readAll, sourceOf } from "./stream-helpers.ts"
import { emptyReading, readChunk } from "../helpers/openai-stream.ts"

export const FAILURE = enc.encode("data: {\"failure\":true}\n\n")

/** Runs `chunks` through `translator` on the real stream core; returns the client's text and how it ended. */
export const translate = async (translator: StreamTranslator, chunks: ReadonlyArray<Uint8Array>, options: { failAfter?: number } = {}) => {
  const ends: Array<StreamEnd> = []
  const stream = translateStream(sourceOf(chunks, options).reader, translator, {
    firstByte: () => undefined,
    end: async (end) => void ends.push(end),
    failureEvent: FAILURE
  })
  const text = dec.decode(concatBytes(await readAll(stream)))
  return { text, ends }
}

export interface SseEvent {
  readonly event: string | undefined
  readonly data: string | undefined
  readonly comment: boolean
}

export const parseSse = (text: string): Array<SseEvent> =>
  text.split("\n\n").filter((raw) => raw !== "").map((raw) => {
    let event: string | undefined
    let data: string | undefined
    for (const line of raw.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7)
      else if (line.startsWith("data: ")) data = data === undefined ? line.slice(6) : `${data}\n${line.slice(6)}`
    }
    return { event, data, comment: raw.startsWith(":") }
  })

/** An OpenAI chunk stream reassembled as the openai SDK's consumers do. */
export const readOpenAIStream = (text: string) => {
  const reading = emptyReading()
  let done = false
  let error: Record<string, unknown> | undefined
  for (const { data, comment } of parseSse(text)) {
    if (comment || data === undefined) continue
    assert.equal(done, false, "nothing follows [DONE]")
    if (data === "[DONE]") {
      done = true
      continue
    }
    const chunk = JSON.parse(data)
    if (chunk.error) {
      error = chunk.error
      continue
    }
    // The test failure event, which is no chunk.
    if (!Array.isArray(chunk.choices)) continue
    readChunk(reading, chunk)
  }
  assert.ok(reading.ids.size <= 1, "one id for the whole stream")
  const { content, reasoning, calls, finish, usage } = reading
  return { content, reasoning, calls, finish, usage, done, error }
}

type Block = Record<string, unknown> & { type: string }

/**
 * An Anthropic event stream reassembled as the Anthropic SDK's MessageStream does, checking
 * the grammar on the way: every event has its `event:` line, blocks open and close in order
 * at consecutive indices, and deltas go to an open block.
 */
export const readAnthropicStream = (text: string) => {
  let message: Record<string, unknown> & { content: Array<Block>; usage: Record<string, unknown> } | undefined
  const json = new Map<number, string>()
  const open = new Set<number>()
  let stopped = false
  let error: Record<string, unknown> | undefined
  for (const { event, data, comment } of parseSse(text)) {
    if (comment) continue
    assert.ok(data !== undefined)
    const parsed = JSON.parse(data)
    assert.equal(event, parsed.type, "each event carries its event: line")
    assert.equal(stopped, false, "nothing follows message_stop")
    switch (parsed.type) {
      case "message_start":
        assert.equal(message, undefined, "one message_start")
        message = { ...parsed.message, content: [], usage: { ...parsed.message.usage } }
        break
      case "content_block_start":
        assert.equal(parsed.index, message!.content.length, "blocks are numbered in order")
        assert.equal(open.size, 0, "one block open at a time")
        open.add(parsed.index)
        message!.content.push({ ...parsed.content_block })
        break
      case "content_block_delta": {
        assert.ok(open.has(parsed.index), `delta for open block ${parsed.index}`)
        const block = message!.content[parsed.index]!
        if (parsed.delta.type === "text_delta") block.text = `${block.text}${parsed.delta.text}`
        if (parsed.delta.type === "thinking_delta") block.thinking = `${block.thinking}${parsed.delta.thinking}`
        if (parsed.delta.type === "input_json_delta") json.set(parsed.index, (json.get(parsed.index) ?? "") + parsed.delta.partial_json)
        break
      }
      case "content_block_stop": {
        assert.ok(open.delete(parsed.index), `stop of open block ${parsed.index}`)
        const block = message!.content[parsed.index]!
        if (block.type === "tool_use") block.input = JSON.parse(json.get(parsed.index) || "{}")
        break
      }
      case "message_delta":
        assert.equal(open.size, 0, "blocks are closed before message_delta")
        message!.stop_reason = parsed.delta.stop_reason
        message!.stop_sequence = parsed.delta.stop_sequence
        for (const [name, value] of Object.entries(parsed.usage)) if (value !== null) message!.usage[name] = value
        break
      case "message_stop":
        stopped = true
        break
      case "error":
        error = parsed.error
        break
    }
  }
  return { message, stopped, error }
}
