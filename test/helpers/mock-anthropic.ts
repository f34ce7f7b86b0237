import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { sampleOf, toolDirective } from "./scripted-answers.ts"

/**
 * A mock Anthropic upstream that speaks the real Messages wire format (PROTOCOLS.md 2): JSON
 * messages, SSE events with `event:` lines, `input_json_delta` fragments, Anthropic error
 * bodies, count_tokens. Like the real API it refuses a request without `x-api-key` (401) or
 * `anthropic-version` (400), without `max_tokens`, whose first message is not the user's, with
 * an empty turn or text block, a tool use not answered by a tool result, or a malformed image;
 * a system message inside `messages` that is not text; a malformed
 * `thinking`, `output_config` or `context_management`; sampling changes or forced tool use
 * while thinking; and, with thinking enabled, a tool loop whose last assistant turn does not
 * start with its thinking. It accepts what the real API accepts besides (`cache_control`,
 * `metadata`, `service_tier`, server tools), and the `?beta=true` query Claude Code sends.
 * It records every request, and the exact bytes of every answer.
 *
 * Keys (`keys` option): "ok", "fail500", "overloaded529", "rate429", "reject401"; any other
 * key is an authentication_error. Models:
 * - `claude-tools*`: text plus a tool_use of the first declared tool, its input streamed in
 *   4-character fragments; after a tool result, text quoting it.
 * - any model: a tool_use of the tool `tool_choice` forces, or else of the tool the last user
 *   turn names with `<call tool="...">` (see
 *   scripted-answers.ts); with `output_config.format`, a JSON answer that fits its schema.
 * - `claude-thinking*`, or thinking enabled with a budget: a thinking block before the text.
 * - `claude-slow`: 100 text deltas 30 ms apart. `claude-max`: stops at max_tokens.
 * - `claude-bad-request`: a 400 whose message quotes the key.
 * - `claude-cut`: the stream breaks off in the middle of an event.
 * - `claude-overloaded`: a mid-stream `overloaded_error` event.
 * - `claude-absurd-usage`: usage no real upstream reports (1e308 input and cache tokens, negative
 *   output).
 * - anything else echoes the last user text, cut at a stop sequence it contains.
 */
export type AnthropicKeyBehaviour = "ok" | "fail500" | "overloaded529" | "rate429" | "reject401"

export interface AnthropicRecord {
  readonly path: string
  /** The query string, `?` included, or "". */
  readonly query: string
  readonly headers: IncomingMessage["headers"]
  readonly body: Record<string, unknown>
  /** The bytes answered (a stream's, as far as it went). */
  response: string
  aborted: boolean
  chunksSent: number
}

export const TOOL_INPUT = { city: "Paris", unit: "celsius", days: [1, 2, 3] }

/** What the mock counts for `count_tokens`: a fixed figure per message, easy to check. */
export const countTokensFor = (messages: ReadonlyArray<unknown>) => 21 + messages.length

type Block = Record<string, unknown> & { type?: unknown }
type Message = { role?: unknown; content?: unknown }

const MEDIA_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"])

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const blocksOf = (content: unknown): Array<Block> =>
  typeof content === "string" ? [{ type: "text", text: content }] : Array.isArray(content) ? content : []

const textOf = (content: unknown): string =>
  blocksOf(content).map((block) => (block.type === "text" && typeof block.text === "string" ? block.text : "")).join("")

const toolResultText = (block: Block): string =>
  typeof block.content === "string" ? block.content : textOf(block.content)

const EFFORTS = new Set(["low", "medium", "high", "xhigh", "max"])

/** `thinking`'s type when it is on ("enabled" or "adaptive"), else undefined. */
const thinkingOn = (body: Record<string, unknown>): string | undefined => {
  const type = (body.thinking as { type?: unknown } | undefined)?.type
  return type === "enabled" || type === "adaptive" ? type : undefined
}

/** The checks of thinking, effort, structured output and context edits, as the real API makes them. */
const invalidControls = (body: Record<string, unknown>): string | undefined => {
  const thinking = body.thinking as { type?: unknown; budget_tokens?: unknown } | undefined
  if (thinking !== undefined) {
    if (thinking === null || typeof thinking !== "object") return "thinking: Input should be a valid dictionary or object to extract fields from"
    if (!["enabled", "disabled", "adaptive"].includes(String(thinking.type))) return "thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'"
    if (thinking.type === "enabled") {
      const budget = thinking.budget_tokens
      if (typeof budget !== "number" || !Number.isInteger(budget) || budget < 1024) return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
      if (typeof body.max_tokens === "number" && budget >= body.max_tokens) return "`max_tokens` must be greater than `thinking.budget_tokens`"
    }
  }
  if (thinkingOn(body) !== undefined) {
    if (typeof body.temperature === "number" && body.temperature !== 1) return "`temperature` may only be set to 1 when thinking is enabled or in adaptive mode"
    if (body.top_k !== undefined) return "`top_k` must be unset when thinking is enabled or in adaptive mode"
    const choice = (body.tool_choice as { type?: unknown } | undefined)?.type
    if (choice === "any" || choice === "tool") return "Thinking may not be enabled when tool_choice forces tool use."
  }
  const config = body.output_config as { effort?: unknown; format?: { type?: unknown; schema?: unknown } } | undefined
  if (config !== undefined) {
    if (config === null || typeof config !== "object") return "output_config: Input should be a valid dictionary or object to extract fields from"
    if (config.effort !== undefined && !EFFORTS.has(String(config.effort))) return "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"
    if (config.format !== undefined && (config.format === null || config.format.type !== "json_schema" || typeof config.format.schema !== "object")) {
      return "output_config.format: expected a json_schema format with a schema"
    }
  }
  const management = body.context_management as { edits?: unknown } | undefined
  if (management !== undefined) {
    if (!Array.isArray(management.edits) || !management.edits.every((edit) => typeof (edit as { type?: unknown })?.type === "string")) {
      return "context_management.edits: expected a list of edits, each with a type"
    }
  }
  return undefined
}

/**
 * The checks the real API makes that a translating relay could get wrong; the first failure's
 * message. A system message inside `messages` is an instruction at that point, as the real API
 * (and Anthropic's SDK types since 1.13) have it.
 */
const invalidMessages = (body: Record<string, unknown>, needsMaxTokens: boolean): string | undefined => {
  if (typeof body.model !== "string") return "model: Field required"
  if (needsMaxTokens) {
    if (body.max_tokens === undefined) return "max_tokens: Field required"
    if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1) return "max_tokens: must be a positive integer"
  }
  const messages = body.messages
  if (!Array.isArray(messages) || messages.length === 0) return "messages: at least one message is required"
  if ((messages[0] as Message).role !== "user") return "messages: first message must use the \"user\" role"
  if (typeof body.temperature === "number" && (body.temperature < 0 || body.temperature > 1)) return "temperature: must be between 0 and 1"
  if (body.stop_sequences !== undefined && (!Array.isArray(body.stop_sequences) || !body.stop_sequences.every((s) => typeof s === "string"))) {
    return "stop_sequences: must be a list of strings"
  }
  const controls = invalidControls(body)
  if (controls !== undefined) return controls
  let pendingToolUses: Array<string> = []
  for (const [i, message] of (messages as Array<Message>).entries()) {
    if (message.role === "system") {
      if (!blocksOf(message.content).every((b) => b.type === "text" && typeof b.text === "string" && b.text !== "")) return `messages.${i}: a system message holds non-empty text`
      continue
    }
    if (message.role !== "user" && message.role !== "assistant") return `messages.${i}.role: Expected "user" | "assistant"`
    const blocks = blocksOf(message.content)
    if (blocks.length === 0 && !(message.role === "assistant" && i === messages.length - 1)) {
      return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`
    }
    if (pendingToolUses.length > 0) {
      const results = blocks.filter((b) => b.type === "tool_result").map((b) => b.tool_use_id)
      const leading = blocks.slice(0, results.length).every((b) => b.type === "tool_result")
      if (message.role !== "user" || !leading || pendingToolUses.some((id) => !results.includes(id))) {
        return `messages.${i}: tool_use ids were found without tool_result blocks immediately after: ${pendingToolUses.join(", ")}`
      }
    }
    pendingToolUses = []
    for (const [j, block] of blocks.entries()) {
      if (block.type === "text" && (typeof block.text !== "string" || block.text === "")) return `messages.${i}.content.${j}.text: text content blocks must be non-empty`
      if (block.type === "image") {
        const source = block.source as Record<string, unknown> | undefined
        const ok = (source?.type === "base64" && MEDIA_TYPES.has(String(source.media_type)) && typeof source.data === "string") ||
          (source?.type === "url" && typeof source.url === "string")
        if (!ok) return `messages.${i}.content.${j}.source: invalid image source`
      }
      if (block.type === "tool_use") {
        if (message.role !== "assistant" || typeof block.id !== "string" || typeof block.input !== "object" || block.input === null) {
          return `messages.${i}.content.${j}: invalid tool_use block`
        }
        pendingToolUses.push(block.id)
      }
      if (block.type === "tool_result" && message.role !== "user") return `messages.${i}.content.${j}: tool_result blocks belong in user turns`
    }
  }
  for (const [i, tool] of ((body.tools ?? []) as Array<Record<string, unknown>>).entries()) {
    const schema = tool.input_schema as Record<string, unknown> | undefined
    if (typeof tool.name !== "string" || schema?.type !== "object") return `tools.${i}: a tool needs a name and an object input_schema`
  }
  if (body.tool_choice !== undefined && !Array.isArray(body.tools)) return "tool_choice: may only be specified while providing tools"
  // With thinking on, a tool loop's last assistant turn must give its thinking back first.
  const lastAssistant = (messages as Array<Message>).findLast((m) => m.role === "assistant")
  const lastBlocks = blocksOf(lastAssistant?.content)
  if (thinkingOn(body) === "enabled" && lastBlocks.some((b) => b.type === "tool_use") && lastBlocks[0]?.type !== "thinking" && lastBlocks[0]?.type !== "redacted_thinking") {
    return "messages: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block"
  }
  return undefined
}

const errorBody = (type: string, message: string) => JSON.stringify({ type: "error", error: { type, message }, request_id: "req_mock" })

const sse = (data: Record<string, unknown>) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`

export class MockAnthropic {
  readonly requests: Array<AnthropicRecord> = []
  private server: Server | undefined

  constructor(private readonly keys: Record<string, AnthropicKeyBehaviour> = { "sk-ant-mock-1": "ok" }) {}

  /** Starts listening; answers the base URL (without `/v1`, as ANTHROPIC_BASE_URL is given). */
  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res))
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve))
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise((resolve) => this.server?.close(resolve))
  }

  /** Requests that reached the Messages route. */
  get messages(): Array<AnthropicRecord> {
    return this.requests.filter((r) => r.path === "/v1/messages")
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    let raw = ""
    for await (const chunk of req) raw += chunk
    let body: Record<string, unknown> = {}
    try {
      body = JSON.parse(raw)
    } catch {
      // recorded as empty; refused below
    }
    // The path without its query: Claude Code sends `?beta=true`, which the real API accepts.
    const path = (req.url ?? "").split("?")[0]!
    const record: AnthropicRecord = { path, query: (req.url ?? "").slice(path.length), headers: req.headers, body, response: "", aborted: false, chunksSent: 0 }
    this.requests.push(record)
    res.on("close", () => {
      if (!res.writableFinished) record.aborted = true
    })
    const json = (status: number, text: string, headers: Record<string, string> = {}) => {
      record.response = text
      res.writeHead(status, { "content-type": "application/json", "request-id": "req_mock", ...headers })
      res.end(text)
    }

    const key = req.headers["x-api-key"]
    if (typeof key !== "string") return json(401, errorBody("authentication_error", "x-api-key header is required"))
    const behaviour = this.keys[key]
    if (behaviour === undefined || behaviour === "reject401") return json(401, errorBody("authentication_error", "invalid x-api-key"))
    if (behaviour === "fail500") return json(500, errorBody("api_error", "Internal server error"))
    if (behaviour === "overloaded529") return json(529, errorBody("overloaded_error", "Overloaded"))
    if (behaviour === "rate429") return json(429, errorBody("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"), { "retry-after": "9" })
    if (typeof req.headers["anthropic-version"] !== "string") return json(400, errorBody("invalid_request_error", "anthropic-version: header is required"))

    if (path === "/v1/messages/count_tokens") {
      const problem = invalidMessages(body, false)
      if (problem) return json(400, errorBody("invalid_request_error", problem))
      return json(200, JSON.stringify({ input_tokens: countTokensFor(body.messages as Array<unknown>) }))
    }
    if (path !== "/v1/messages") return json(404, errorBody("not_found_error", `Not found: ${req.url}`))
    const problem = invalidMessages(body, true)
    if (problem) return json(400, errorBody("invalid_request_error", problem))

    const model = body.model as string
    if (model === "claude-bad-request") return json(400, errorBody("invalid_request_error", `prompt is too long for key ${key}`))
    const messages = body.messages as Array<Message>
    // The last turn, not an instruction after it (a system message may follow the tool results).
    const last = messages.findLast((m) => m.role !== "system")!
    const results = blocksOf(last.content).filter((b) => b.type === "tool_result")
    const tools = (body.tools ?? []) as Array<{ name: string; input_schema?: Parameters<typeof sampleOf>[0] }>
    // A forced tool is called, as the real API does, with an input that fits its schema.
    const choice = body.tool_choice as { type?: string; name?: string } | undefined
    const forced = results.length > 0 ? undefined : choice?.type === "tool" ? tools.find((tool) => tool.name === choice.name) : choice?.type === "any" ? tools[0] : undefined
    const directive = results.length > 0
      ? undefined
      : forced !== undefined
      ? { name: forced.name, input: sampleOf(forced.input_schema) as Record<string, unknown> }
      : toolDirective(textOf(last.content), tools.map((tool) => tool.name))
    const callsTool = directive !== undefined || (model.startsWith("claude-tools") && results.length === 0 && tools.length > 0)
    const format = (body.output_config as { format?: { schema?: Parameters<typeof sampleOf>[0] } } | undefined)?.format

    let text = results.length > 0
      ? `tool said: ${results.map(toolResultText).join(" | ")}`
      : model === "claude-slow"
      ? Array.from({ length: 100 }, (_, i) => `w${i} `).join("")
      : textOf([...messages].reverse().find((m) => m.role === "user" && textOf(m.content) !== "")?.content)
    if (callsTool) text = "Let me check."
    else if (format !== undefined) text = JSON.stringify(sampleOf(format.schema))
    let stopReason = callsTool ? "tool_use" : model === "claude-max" ? "max_tokens" : "end_turn"
    let stopSequence: string | null = null
    for (const stop of (body.stop_sequences ?? []) as Array<string>) {
      const at = text.indexOf(stop)
      if (at !== -1) {
        text = text.slice(0, at)
        stopReason = "stop_sequence"
        stopSequence = stop
        break
      }
    }
    const toolUse = callsTool
      ? { type: "tool_use", id: directive === undefined ? "toolu_mock01" : `toolu_mock${this.requests.length}`, name: directive?.name ?? tools[0]!.name, input: directive?.input ?? TOOL_INPUT }
      : undefined
    // Thinking within a budget always thinks; adaptive thinking is the model's choice (this one does not).
    const thinks = model.startsWith("claude-thinking") || thinkingOn(body) === "enabled"
    const thinking = thinks ? { type: "thinking", thinking: "Let me think.", signature: "sig-mock" } : undefined
    const usage = model === "claude-absurd-usage"
      ? { input_tokens: 1e308, cache_creation_input_tokens: 1e308, cache_read_input_tokens: 1e308, output_tokens: -3 }
      : {
        input_tokens: 10 + messages.length,
        cache_creation_input_tokens: 5,
        cache_read_input_tokens: 40,
        output_tokens: text.split(" ").length + (toolUse ? 20 : 0)
      }
    const id = `msg_mock${this.requests.length}`
    const content = [...(thinking ? [thinking] : []), ...(text === "" ? [] : [{ type: "text", text }]), ...(toolUse ? [toolUse] : [])]

    if (body.stream !== true) {
      return json(200, JSON.stringify({ id, type: "message", role: "assistant", model, content, stop_reason: stopReason, stop_sequence: stopSequence, usage }))
    }

    const events: Array<string> = [
      sse({ type: "message_start", message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }),
      sse({ type: "ping" })
    ]
    content.forEach((block, index) => {
      if (block.type === "thinking") {
        events.push(sse({ type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } }))
        events.push(sse({ type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: "Let me think." } }))
        events.push(sse({ type: "content_block_delta", index, delta: { type: "signature_delta", signature: "sig-mock" } }))
      } else if (block.type === "text") {
        events.push(sse({ type: "content_block_start", index, content_block: { type: "text", text: "" } }))
        for (const word of text.match(/\S+\s*/g) ?? []) events.push(sse({ type: "content_block_delta", index, delta: { type: "text_delta", text: word } }))
      } else {
        events.push(sse({ type: "content_block_start", index, content_block: { ...toolUse, input: {} } }))
        const json = JSON.stringify(toolUse!.input)
        for (let i = 0; i < json.length; i += 4) {
          events.push(sse({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: json.slice(i, i + 4) } }))
        }
      }
      events.push(sse({ type: "content_block_stop", index }))
    })
    events.push(sse({ type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: stopSequence }, usage: { output_tokens: usage.output_tokens } }))
    events.push(sse({ type: "message_stop" }))
    if (model === "claude-overloaded") events.splice(3, events.length, sse({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }))

    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": "req_mock" })
    const write = (piece: string) => {
      record.response += piece
      res.write(piece)
    }
    for (const [n, event] of events.entries()) {
      if (record.aborted || res.destroyed) return
      if (model === "claude-cut" && n === 4) {
        // Break off in the middle of an event, as a dropped connection does.
        write(event.slice(0, event.length / 2))
        await sleep(20)
        return req.socket.destroy()
      }
      // Split events across writes, as real upstreams do.
      const cut = Math.floor(event.length / 2)
      write(event.slice(0, cut))
      write(event.slice(cut))
      record.chunksSent++
      if (model === "claude-slow") await sleep(30)
    }
    res.end()
  }
}
