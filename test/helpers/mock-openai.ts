import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/**
 * A mock OpenAI upstream that speaks the real chat-completions wire format (JSON and SSE,
 * usage chunk, tool-call fragments, error bodies) and records every request it receives.
 *
 * What it does is chosen by the key it is called with and by the model name:
 * - key behaviours (`keys` option): "ok", "fail500", "rate429", "reject401", "drop" (closes the
 *   socket); an unknown key gets OpenAI's 401, whose message quotes the key.
 * - models: `mock-slow` streams 100 chunks 30 ms apart; `mock-pause` echoes after a silence
 *   (streaming: after the first word) of `metadata.pause_ms` (default 300); `mock-tools`
 *   answers with two tool calls whose arguments arrive in fragments; `mock-bad-request` answers
 *   400; `mock-hang` never answers; anything else echoes the last user message.
 */
export type KeyBehaviour = "ok" | "fail500" | "rate429" | "reject401" | "drop"

export interface RecordedRequest {
  readonly path: string
  readonly headers: IncomingMessage["headers"]
  readonly body: Record<string, unknown>
  /** The client (the relay) went away before the response was complete. */
  aborted: boolean
  /** Chunks written before the end or the abort. */
  chunksSent: number
  /** When each chunk was written, in `performance.now()` time of this process. */
  readonly sentAt: Array<number>
}

export const TOOL_CALLS = [
  { id: "call_weather1", name: "get_weather", arguments: JSON.stringify({ city: "Paris", unit: "celsius" }) },
  { id: "call_time2", name: "get_time", arguments: JSON.stringify({ timezone: "Europe/Paris" }) }
]

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
    ? content.map((part) => (typeof part?.text === "string" ? part.text : "")).join("")
    : ""

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const openAIError = (message: string, type: string, code: string | null, param: string | null = null) =>
  JSON.stringify({ error: { message, type, param, code } })

export class MockOpenAI {
  readonly requests: Array<RecordedRequest> = []
  private server: Server | undefined
  private readonly keys: Record<string, KeyBehaviour>

  constructor(keys: Record<string, KeyBehaviour> = { "sk-mock-shared-1": "ok" }) {
    this.keys = keys
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res))
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve))
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise((resolve) => this.server?.close(resolve))
  }

  /** Requests that reached the chat-completions route. */
  get chats(): Array<RecordedRequest> {
    return this.requests.filter((r) => r.path === "/v1/chat/completions")
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    let raw = ""
    for await (const chunk of req) raw += chunk
    let body: Record<string, unknown> = {}
    try {
      body = JSON.parse(raw)
    } catch {
      // recorded as empty; answered below
    }
    const record: RecordedRequest = { path: req.url ?? "", headers: req.headers, body, aborted: false, chunksSent: 0, sentAt: [] }
    this.requests.push(record)
    res.on("close", () => {
      if (!res.writableFinished) record.aborted = true
    })

    const key = (req.headers.authorization ?? "").replace(/^Bearer /, "")
    const behaviour = this.keys[key]
    if (behaviour === undefined) {
      return this.json(res, 401, openAIError(`Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`, "invalid_request_error", "invalid_api_key"))
    }
    if (behaviour === "drop") return req.socket.destroy()
    if (behaviour === "fail500") return this.json(res, 500, openAIError("The server had an error while processing your request.", "server_error", null))
    if (behaviour === "rate429") {
      res.setHeader("retry-after", "7")
      return this.json(res, 429, openAIError("Rate limit reached for requests", "requests", "rate_limit_exceeded"))
    }
    if (behaviour === "reject401") {
      return this.json(res, 401, openAIError(`Incorrect API key provided: ${key.slice(0, 6)}***${key.slice(-4)}.`, "invalid_request_error", "invalid_api_key"))
    }
    if (req.url !== "/v1/chat/completions") return this.json(res, 404, openAIError("Unknown route", "invalid_request_error", null))
    if (typeof body.model !== "string") return this.json(res, 400, openAIError("you must provide a model parameter", "invalid_request_error", null, "model"))

    const model = body.model
    if (model === "mock-hang") return
    if (model === "mock-bad-request") {
      return this.json(res, 400, openAIError(`Invalid value for 'temperature': the request used key ${key}.`, "invalid_request_error", "invalid_value", "temperature"))
    }
    const stream = body.stream === true
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true
    const messages = (body.messages ?? []) as Array<{ role: string; content: unknown }>
    const lastUser = [...messages].reverse().find((m) => m.role === "user")
    const text = model === "mock-slow" ? Array.from({ length: 100 }, (_, i) => `w${i} `).join("") : textOf(lastUser?.content)
    const pauseMs = Number((body.metadata as { pause_ms?: string } | undefined)?.pause_ms ?? 300)
    const usage = {
      prompt_tokens: 11 + messages.length,
      completion_tokens: model === "mock-tools" ? 23 : text.split(" ").length,
      total_tokens: 0,
      prompt_tokens_details: { cached_tokens: 3, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 }
    }
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
    const id = `chatcmpl-mock${this.requests.length}`
    const created = 1_730_000_000

    if (!stream) {
      if (model === "mock-slow") await sleep(300)
      if (model === "mock-pause") await sleep(pauseMs)
      const message = model === "mock-tools"
        ? {
          role: "assistant",
          content: null,
          refusal: null,
          tool_calls: TOOL_CALLS.map((call) => ({ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } }))
        }
        : { role: "assistant", content: text, refusal: null, annotations: [] }
      return this.json(res, 200, JSON.stringify({
        id,
        object: "chat.completion",
        created,
        model: `${model}-2024-07-18`,
        choices: [{ index: 0, message, finish_reason: model === "mock-tools" ? "tool_calls" : "stop", logprobs: null }],
        usage,
        service_tier: "default",
        system_fingerprint: "fp_mock"
      }))
    }

    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" })
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        system_fingerprint: "fp_mock",
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...(includeUsage ? { usage: null } : {})
      })}\n\n`
    const events: Array<string> = []
    if (model === "mock-tools") {
      events.push(chunk({ role: "assistant", content: null }, null))
      TOOL_CALLS.forEach((call, index) => {
        events.push(chunk({ tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] }, null))
        for (let i = 0; i < call.arguments.length; i += 5) {
          events.push(chunk({ tool_calls: [{ index, function: { arguments: call.arguments.slice(i, i + 5) } }] }, null))
        }
      })
      events.push(chunk({}, "tool_calls"))
    } else {
      events.push(chunk({ role: "assistant", content: "", refusal: null }, null))
      for (const word of text.match(/\S+\s*/g) ?? []) events.push(chunk({ content: word }, null))
      events.push(chunk({}, "stop"))
    }
    if (includeUsage) {
      events.push(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_mock", choices: [], usage })}\n\n`)
    }
    events.push("data: [DONE]\n\n")
    for (const event of events) {
      if (record.aborted || res.destroyed) return
      // Split some events across writes, as real upstreams do.
      const cut = Math.floor(event.length / 2)
      res.write(event.slice(0, cut))
      res.write(event.slice(cut))
      record.sentAt.push(performance.now())
      record.chunksSent++
      if (model === "mock-slow") await sleep(30)
      // Chunk 0 is the role, chunk 1 the first word.
      if (model === "mock-pause" && record.chunksSent === 2) await sleep(pauseMs)
    }
    res.end()
  }

  private json(res: ServerResponse, status: number, body: string) {
    res.writeHead(status, { "content-type": "application/json" })
    res.end(body)
  }
}
