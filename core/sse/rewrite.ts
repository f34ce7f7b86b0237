import { type ChunkReader, concatChunks } from "../chunk-reader.ts"
import { LINE_END, SseEventSplitter } from "./events.ts"

/** Changes one JSON payload in place (a chunk's `model`, a completion's `id`). */
export type JsonRewrite = (payload: Record<string, unknown>) => void

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** One SSE event with its `data:` payload rewritten; other lines (`event:`) kept as they were. */
const rewriteEvent = (event: Uint8Array, rewrite: JsonRewrite): Uint8Array => {
  const text = decoder.decode(event)
  const lines = text.split(LINE_END)
  const data = lines.filter((line) => line.startsWith("data:")).map((line) => line.slice(line.charCodeAt(5) === 0x20 ? 6 : 5)).join("\n")
  if (data === "" || data === "[DONE]") return event
  let payload: unknown
  try {
    payload = JSON.parse(data)
  } catch {
    return event
  }
  if (payload === null || typeof payload !== "object") return event
  rewrite(payload as Record<string, unknown>)
  const kept = lines.filter((line) => line !== "" && !line.startsWith("data:"))
  return encoder.encode(`${[...kept, `data: ${JSON.stringify(payload)}`].join("\n")}\n\n`)
}

/**
 * The client's stream with each event's JSON rewritten: what the client reads must name the
 * model it asked for (an alias) or carry the ids of its product (`chat-...`). Only requests
 * that need it pay for this; everything else stays byte-for-byte passthrough. Reads, and so
 * backpressure, and cancellation pass through to the stream beneath.
 */
export const rewriteStream = (source: ChunkReader, rewrite: JsonRewrite): ChunkReader => {
  const splitter = new SseEventSplitter()
  let done = false
  return {
    async read() {
      while (!done) {
        const chunk = await source.read()
        if (chunk === undefined) {
          done = true
          const rest = splitter.pending
          return rest === undefined ? undefined : rewriteEvent(rest, rewrite)
        }
        const events: Array<Uint8Array> = []
        splitter.push(chunk, (event) => events.push(rewriteEvent(event, rewrite)))
        if (events.length > 0) return concatChunks(events)
      }
      return undefined
    },
    cancel: (reason) => source.cancel(reason)
  }
}

/** A whole JSON body rewritten; a body that is not a JSON object is returned as it was. */
export const rewriteBody = (bytes: Uint8Array<ArrayBuffer>, rewrite: JsonRewrite): Uint8Array<ArrayBuffer> | string => {
  let payload: unknown
  try {
    payload = JSON.parse(decoder.decode(bytes))
  } catch {
    return bytes
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) return bytes
  rewrite(payload as Record<string, unknown>)
  return JSON.stringify(payload)
}
