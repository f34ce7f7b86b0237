import { createServer, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { LONG_CHUNKS, LONG_PER_TICK } from "./long-stream.ts"

/**
 * The benchmark's upstream: plain node:http answering from pre-serialised bodies, so that its
 * own cost is as small as it can be and the relay's overhead stands out. By the request body:
 * - `"stream":true` answers 64 chunks and the usage chunk; with model `bench-paced` the chunks
 *   are 2 ms apart (to see that the relay holds none back), with `bench-20` 20 chunks at once
 *   (the CPU a short answer costs), otherwise all at once;
 * - model `bench-long` streams the long stream of bench/long-stream.ts, and `claude-long` on
 *   `/v1/messages` as many Anthropic deltas (the CPU a chunk costs);
 * - model `slow-stream` sends one chunk and holds the stream open for 60 s (idle streams);
 * - `/v1/messages` (Anthropic) streams the same 64 words as Anthropic events;
 * - anything else: one chat.completion.
 */
const completion = Buffer.from(JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_730_000_000,
  model: "bench-model",
  choices: [{ index: 0, message: { role: "assistant", content: "The quick brown fox jumps over the lazy dog." }, finish_reason: "stop" }],
  usage: { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 }
}))

const chunk = (content: string) =>
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_730_000_000, model: "bench-model", choices: [{ index: 0, delta: { content }, finish_reason: null }], usage: null })}\n\n`
const CHUNKS = Array.from({ length: 64 }, (_, i) => Buffer.from(chunk(`tok${i} `)))
const TAIL = Buffer.from(
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_730_000_000, model: "bench-model", choices: [], usage: { prompt_tokens: 12, completion_tokens: 64, total_tokens: 76 } })}\n\n` +
    "data: [DONE]\n\n"
)
const WHOLE_STREAM = Buffer.concat([...CHUNKS, TAIL])
const STREAM_OF_20 = Buffer.concat([...CHUNKS.slice(0, 20), TAIL])

const anthropicEvent = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
const ANTHROPIC_STREAM = Buffer.from([
  anthropicEvent("message_start", {
    message: { id: "msg_bench", type: "message", role: "assistant", model: "claude-bench", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 } }
  }),
  anthropicEvent("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
  ...Array.from({ length: 64 }, (_, i) => anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: `tok${i} ` } })),
  anthropicEvent("content_block_stop", { index: 0 }),
  anthropicEvent("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 64 } }),
  anthropicEvent("message_stop", {})
].join(""))
const SSE = { "content-type": "text/event-stream", "cache-control": "no-cache" }

const ANTHROPIC_HEAD = Buffer.from(ANTHROPIC_STREAM.toString().split("event: content_block_delta")[0]!)
const ANTHROPIC_DELTA = Buffer.from(anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: "tok " } }))
const ANTHROPIC_TAIL = Buffer.from([
  anthropicEvent("content_block_stop", { index: 0 }),
  anthropicEvent("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: LONG_CHUNKS } }),
  anthropicEvent("message_stop", {})
].join(""))

/** Writes `head`, `LONG_CHUNKS` times `chunk` (`LONG_PER_TICK` a millisecond), then `tail`. */
const longStream = (res: ServerResponse, head: Buffer | undefined, chunk: Buffer, tail: Buffer) => {
  res.writeHead(200, SSE)
  if (head !== undefined) res.write(head)
  let sent = 0
  const timer = setInterval(() => {
    for (let i = 0; i < LONG_PER_TICK && sent < LONG_CHUNKS; i++, sent++) res.write(chunk)
    if (sent < LONG_CHUNKS) return
    clearInterval(timer)
    res.end(tail)
  }, 1)
  res.on("close", () => clearInterval(timer))
}

const server = createServer((req, res) => {
  const parts: Array<Buffer> = []
  req.on("data", (part: Buffer) => parts.push(part))
  req.on("end", () => {
    const body = Buffer.concat(parts)
    if (req.url === "/v1/messages" && body.includes('"claude-long"')) return longStream(res, ANTHROPIC_HEAD, ANTHROPIC_DELTA, ANTHROPIC_TAIL)
    if (req.url === "/v1/messages") {
      res.writeHead(200, { ...SSE, "content-length": ANTHROPIC_STREAM.length })
      res.end(ANTHROPIC_STREAM)
      return
    }
    if (body.includes('"slow-stream"')) {
      res.writeHead(200, SSE)
      res.write(CHUNKS[0])
      const timer = setTimeout(() => res.end(TAIL), 60_000)
      res.on("close", () => clearTimeout(timer))
      return
    }
    if (body.includes('"bench-long"')) return longStream(res, undefined, CHUNKS[0]!, TAIL)
    if (body.includes('"bench-20"')) {
      res.writeHead(200, { ...SSE, "content-length": STREAM_OF_20.length })
      res.end(STREAM_OF_20)
      return
    }
    if (body.includes('"stream":true')) {
      if (!body.includes('"bench-paced"')) {
        res.writeHead(200, { ...SSE, "content-length": WHOLE_STREAM.length })
        res.end(WHOLE_STREAM)
        return
      }
      res.writeHead(200, SSE)
      let next = 0
      const timer = setInterval(() => {
        if (next < CHUNKS.length) res.write(CHUNKS[next++])
        else {
          clearInterval(timer)
          res.end(TAIL)
        }
      }, 2)
      res.on("close", () => clearInterval(timer))
      return
    }
    res.writeHead(200, { "content-type": "application/json", "content-length": completion.length })
    res.end(completion)
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
})
process.on("SIGTERM", () => process.exit(0))
