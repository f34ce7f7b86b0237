import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { answerEmbeddings, answerImages, type MediaRecord, readMultipart } from "./mock-openai-media.ts"
import { MockResponses } from "./mock-openai-responses.ts"
import { sampleOf, toolDirective } from "./scripted-answers.ts"

/**
 * A mock OpenAI upstream that speaks the real chat-completions wire format (JSON and SSE,
 * usage chunk, tool-call fragments, error bodies) and records every request it receives.
 *
 * What it does is chosen by the key it is called with and by the model name:
 * - key behaviours (`keys` option): "ok", "fail500", "rate429", "reject401", "drop" (closes the
 *   socket), "dropReused" (closes a kept-alive connection on its next request without an
 *   answer, as an upstream that had closed it already looks); an unknown key gets OpenAI's
 *   401, whose message quotes the key.
 * - models: `mock-slow` streams 100 chunks 30 ms apart (answers whole after 300 ms, or
 *   `metadata.pause_ms`); `mock-pause` echoes after a silence
 *   (streaming: after the first word) of `metadata.pause_ms` (default 300); `mock-tools`
 *   answers with two tool calls whose arguments arrive in fragments (and, after tool results,
 *   with text quoting them); `mock-bad-request` answers 400; `mock-forbidden` answers OpenAI's
 *   403 for a model the key's project may not use; `mock-hang` never answers;
 *   `mock-not-json` answers a 200 of plain text; `mock-plain-stream` streams labelled
 *   `text/plain`; `mock-cut-stream` ends its stream by closing the connection, without `[DONE]`;
 *   a model named `*reasoner*` answers with `reasoning_content` first (as DeepSeek does);
 *   anything else echoes the last user message. Any model calls the function `tool_choice`
 *   forces, or else the tool the last user message names with `<call tool="...">` (see
 *   scripted-answers.ts), and answers a
 *   `json_schema` response format with JSON that fits the schema.
 * Like the real API it refuses (400, naming the param) a tool message that answers no tool
 * call of the assistant message before it, an unknown content part, or a bad token limit; an
 * unknown request field; `reasoning_effort` for a model that does not reason; and, for a
 * reasoner, its `reasoning_content` sent back.
 */
export type KeyBehaviour = "ok" | "fail500" | "rate429" | "reject401" | "drop" | "dropReused"

export interface RecordedRequest {
  readonly path: string
  readonly headers: IncomingMessage["headers"]
  readonly body: Record<string, unknown>
  /** The body as it arrived, for what parsing would change (integers above 2^53, escapes). */
  readonly raw: string
  /** A multipart upload's text fields and files. */
  readonly upload: MediaRecord | undefined
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

const PART_TYPES = new Set(["text", "image_url", "input_audio", "file", "refusal"])

/** The request fields of Chat Completions (PROTOCOLS.md 1.1); the real API refuses any other. */
const CHAT_FIELDS = new Set([
  "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "n", "stream", "stream_options",
  "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort", "user", "safety_identifier",
  "frequency_penalty", "presence_penalty", "logit_bias", "logprobs", "top_logprobs", "seed", "metadata", "store",
  "service_tier", "modalities", "audio", "prediction", "verbosity", "web_search_options", "prompt_cache_key",
  "prompt_cache_retention", "functions", "function_call"
])

/** Models that reason: OpenAI's o-series and gpt-5, and the scripted reasoners. */
export const reasoningModel = (model: string): boolean => /^(o\d|gpt-5)/.test(model) || model.includes("reasoner")

/** The checks the real API makes that a translating relay could get wrong: the failing param and why. */
const invalidRequest = (body: Record<string, unknown>): { param: string; message: string } | undefined => {
  for (const field of Object.keys(body)) {
    if (!CHAT_FIELDS.has(field)) return { param: field, message: `Unrecognized request argument supplied: ${field}` }
  }
  if (body.reasoning_effort !== undefined && !reasoningModel(String(body.model))) {
    return { param: "reasoning_effort", message: "Unsupported parameter: 'reasoning_effort' is not supported with this model." }
  }
  for (const field of ["max_tokens", "max_completion_tokens"]) {
    const value = body[field]
    if (value !== undefined && (!Number.isInteger(value) || (value as number) < 1)) return { param: field, message: "must be a positive integer" }
  }
  const messages = (body.messages ?? []) as Array<{ role?: unknown; content?: unknown; tool_calls?: Array<{ id: string }>; tool_call_id?: unknown }>
  let calls: Array<string> = []
  for (const [i, message] of messages.entries()) {
    if (message.role === "tool") {
      if (!calls.includes(String(message.tool_call_id))) {
        return { param: `messages.[${i}].tool_call_id`, message: "messages with role 'tool' must be a response to a preceeding message with 'tool_calls'" }
      }
      continue
    }
    calls = message.role === "assistant" ? (message.tool_calls ?? []).map((call) => call.id) : []
    // DeepSeek's reasoner refuses its reasoning sent back.
    if (message.role === "assistant" && "reasoning_content" in message && String(body.model).includes("reasoner")) {
      return { param: `messages.[${i}].reasoning_content`, message: "reasoning_content is not accepted in input messages" }
    }
    if (!Array.isArray(message.content)) continue
    for (const [j, part] of (message.content as Array<{ type?: unknown; image_url?: { url?: unknown } }>).entries()) {
      if (!PART_TYPES.has(String(part.type))) return { param: `messages.[${i}].content.[${j}].type`, message: "invalid content part type" }
      if (part.type === "image_url" && typeof part.image_url?.url !== "string") return { param: `messages.[${i}].content.[${j}].image_url`, message: "missing url" }
    }
  }
  return undefined
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const openAIError = (message: string, type: string, code: string | null, param: string | null = null) =>
  JSON.stringify({ error: { message, type, param, code } })

export class MockOpenAI {
  readonly requests: Array<RecordedRequest> = []
  /** The Responses API routes (see mock-openai-responses.ts). */
  private readonly responsesApi = new MockResponses()
  private server: Server | undefined
  private readonly answeredSockets = new WeakSet<object>()
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

  /** Requests that reached the Responses API's create route. */
  get responses(): Array<RecordedRequest> {
    return this.requests.filter((r) => r.path === "/v1/responses")
  }

  /** Requests that reached the chat-completions route. */
  get chats(): Array<RecordedRequest> {
    return this.requests.filter((r) => r.path === "/v1/chat/completions")
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks)
    const contentType = req.headers["content-type"] ?? ""
    const upload = contentType.startsWith("multipart/form-data") ? readMultipart(raw, contentType) : undefined
    let body: Record<string, unknown> = upload?.fields ?? {}
    try {
      if (upload === undefined) body = JSON.parse(raw.toString("utf8"))
    } catch {
      // recorded as empty; answered below
    }
    const record: RecordedRequest = { path: req.url ?? "", headers: req.headers, body, raw: raw.toString("utf8"), upload, aborted: false, chunksSent: 0, sentAt: [] }
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
    if (behaviour === "dropReused") {
      if (this.answeredSockets.has(req.socket)) return req.socket.destroy()
      this.answeredSockets.add(req.socket)
    }
    if (behaviour === "fail500") return this.json(res, 500, openAIError("The server had an error while processing your request.", "server_error", null))
    if (behaviour === "rate429") {
      res.setHeader("retry-after", "7")
      return this.json(res, 429, openAIError("Rate limit reached for requests", "requests", "rate_limit_exceeded"))
    }
    if (behaviour === "reject401") {
      return this.json(res, 401, openAIError(`Incorrect API key provided: ${key.slice(0, 6)}***${key.slice(-4)}.`, "invalid_request_error", "invalid_api_key"))
    }
    if (this.responsesApi.handle(req.method ?? "GET", req.url ?? "", body, res)) return
    if (req.url === "/v1/embeddings") return answerEmbeddings(res, body)
    if (req.url === "/v1/images/generations") return answerImages(res, body, 0)
    if (req.url === "/v1/images/edits") {
      const images = upload ? upload.files.filter((f) => f.field === "image" || f.field === "image[]").length : (body.images as Array<unknown> | undefined)?.length ?? 0
      if (images === 0) return this.json(res, 400, openAIError("image is required", "invalid_request_error", null, "image"))
      return answerImages(res, body, images)
    }
    if (req.url !== "/v1/chat/completions") return this.json(res, 404, openAIError("Unknown route", "invalid_request_error", null))
    if (typeof body.model !== "string") return this.json(res, 400, openAIError("you must provide a model parameter", "invalid_request_error", null, "model"))

    const invalid = invalidRequest(body)
    if (invalid) return this.json(res, 400, openAIError(invalid.message, "invalid_request_error", "invalid_value", invalid.param))

    const model = body.model
    if (model === "mock-hang") return
    if (model === "mock-forbidden") {
      return this.json(res, 403, openAIError(`Project \`proj_mock\` does not have access to model \`${model}\``, "invalid_request_error", "model_not_found"))
    }
    if (model === "mock-bad-request") {
      return this.json(res, 400, openAIError(`Invalid value for 'temperature': the request used key ${key}.`, "invalid_request_error", "invalid_value", "temperature"))
    }
    const stream = body.stream === true
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true
    const messages = (body.messages ?? []) as Array<{ role: string; content: unknown }>
    const lastUser = [...messages].reverse().find((m) => m.role === "user")
    // The turn so far, less instructions after it (a client may add a system message after the tool results).
    const turn = messages.slice(0, messages.findLastIndex((m) => m.role !== "system" && m.role !== "developer") + 1)
    const toolResults = turn.at(-1)?.role === "tool" ? turn.slice(turn.findLastIndex((m) => m.role !== "tool") + 1) : []
    const tools = (body.tools ?? []) as Array<{ function?: { name?: string; parameters?: Parameters<typeof sampleOf>[0] } }>
    // A forced function is called, as the real API does, with arguments that fit its schema.
    const choice = body.tool_choice as { function?: { name?: string } } | string | undefined
    const forced = turn.at(-1)?.role !== "user"
      ? undefined
      : choice === "required" ? tools[0] : typeof choice === "object" ? tools.find((tool) => tool.function?.name === choice.function?.name) : undefined
    const directive = forced !== undefined
      ? { name: String(forced.function?.name), input: sampleOf(forced.function?.parameters) as Record<string, unknown> }
      : turn.at(-1)?.role === "user"
      ? toolDirective(textOf(turn.at(-1)!.content), tools.map((tool) => String(tool.function?.name)))
      : undefined
    const calls = directive !== undefined
      ? [{ id: `call_mock${this.requests.length}`, name: directive.name, arguments: JSON.stringify(directive.input) }]
      : TOOL_CALLS
    const callsTools = directive !== undefined || (model === "mock-tools" && toolResults.length === 0)
    const format = body.response_format as { type?: string; json_schema?: { schema?: Parameters<typeof sampleOf>[0] } } | undefined
    // A scripted reasoner thinks out loud first, as DeepSeek's and vLLM's reasoning models do.
    const reasoning = model.includes("reasoner") ? "Let me think." : undefined
    let text = toolResults.length > 0
      ? `tool said: ${toolResults.map((m) => textOf(m.content)).join(" | ")}`
      : model === "mock-slow"
      ? Array.from({ length: 100 }, (_, i) => `w${i} `).join("")
      : textOf(lastUser?.content)
    if (format?.type === "json_schema" && toolResults.length === 0) text = JSON.stringify(sampleOf(format.json_schema?.schema))
    const pauseMs = Number((body.metadata as { pause_ms?: string } | undefined)?.pause_ms ?? 300)
    const usage = {
      prompt_tokens: 11 + messages.length,
      completion_tokens: callsTools ? 23 : text.split(" ").length,
      total_tokens: 0,
      prompt_tokens_details: { cached_tokens: 3, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 }
    }
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens
    const id = `chatcmpl-mock${this.requests.length}`
    const created = 1_730_000_000

    if (!stream) {
      // Answers that no OpenAI client could take for a completion, yet are a 200.
      if (model === "mock-not-json") {
        res.writeHead(200, { "content-type": "text/plain" })
        return res.end(`${text}\n`)
      }
      if (model === "mock-slow") await sleep(body.metadata === undefined ? 300 : pauseMs)
      if (model === "mock-pause") await sleep(pauseMs)
      const message = callsTools
        ? {
          role: "assistant",
          content: null,
          refusal: null,
          tool_calls: calls.map((call) => ({ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } }))
        }
        : { role: "assistant", content: text, refusal: null, annotations: [], ...(reasoning !== undefined ? { reasoning_content: reasoning } : {}) }
      return this.json(res, 200, JSON.stringify({
        id,
        object: "chat.completion",
        created,
        model: `${model}-2024-07-18`,
        choices: [{ index: 0, message, finish_reason: callsTools ? "tool_calls" : "stop", logprobs: null }],
        usage,
        service_tier: "default",
        system_fingerprint: "fp_mock"
      }))
    }

    if (model === "mock-cut-stream") {
      // The body ends where the connection does: no chunked framing to miss, no [DONE].
      res.useChunkedEncodingByDefault = false
      res.shouldKeepAlive = false
    }
    // A stream labelled as plain text: SDKs still read it, a usage tap would not.
    const streamType = model === "mock-plain-stream" ? "text/plain; charset=utf-8" : "text/event-stream; charset=utf-8"
    res.writeHead(200, { "content-type": streamType, "cache-control": "no-cache" })
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
    if (callsTools) {
      events.push(chunk({ role: "assistant", content: null }, null))
      calls.forEach((call, index) => {
        events.push(chunk({ tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] }, null))
        for (let i = 0; i < call.arguments.length; i += 5) {
          events.push(chunk({ tool_calls: [{ index, function: { arguments: call.arguments.slice(i, i + 5) } }] }, null))
        }
      })
      events.push(chunk({}, "tool_calls"))
    } else {
      events.push(chunk({ role: "assistant", content: "", refusal: null }, null))
      for (const word of reasoning?.match(/\S+\s*/g) ?? []) events.push(chunk({ reasoning_content: word }, null))
      for (const word of text.match(/\S+\s*/g) ?? []) events.push(chunk({ content: word }, null))
      events.push(chunk({}, "stop"))
    }
    if (includeUsage) {
      events.push(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model, system_fingerprint: "fp_mock", choices: [], usage })}\n\n`)
    }
    if (model !== "mock-cut-stream") events.push("data: [DONE]\n\n")
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
