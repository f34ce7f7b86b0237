import { InvalidRequest } from "../errors.ts"
import { invalidAt } from "../surfaces/schema-error.ts"
import type { ChatCompletionRequest } from "../surfaces/openai-chat-schema.ts"
import { anthropicThinkingOf } from "./reasoning.ts"
import type { AnthropicBlock, TargetModel } from "./wire.ts"

/**
 * The max_tokens of a request for an uncatalogued Claude model that named none: Anthropic
 * requires the field, and every Claude model allows at least this many output tokens.
 */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4_096

/** Anthropic's temperature runs 0 to 1, OpenAI's 0 to 2. */
export const MAX_ANTHROPIC_TEMPERATURE = 1


type Body = ChatCompletionRequest & Record<string, unknown>
type Part = { readonly type: string; readonly [field: string]: unknown }
export type Turn = { role: "user" | "assistant"; content: Array<AnthropicBlock> }

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s

/** An OpenAI image URL (https or a base64 data URL) as an Anthropic image source. */
export const imageSource = (url: unknown, param: string): Record<string, string> | InvalidRequest => {
  if (typeof url !== "string") return invalidAt(param, "expected an image URL")
  const data = DATA_URL.exec(url)
  if (data) return { type: "base64", media_type: data[1]!, data: data[2]! }
  if (/^https?:\/\//i.test(url)) return { type: "url", url }
  return invalidAt(param, "expected an https URL or a base64 data URL")
}

/** The text of a system, developer or tool message: a string, or text parts only. */
const textContent = (content: unknown, param: string): string | InvalidRequest => {
  if (content === null || content === undefined) return ""
  if (typeof content === "string") return content
  let text = ""
  for (const [j, part] of (content as ReadonlyArray<Part>).entries()) {
    if (part.type !== "text" || typeof part.text !== "string") return invalidAt(`${param}[${j}]`, "expected a text part")
    text += part.text
  }
  return text
}

/** A user or assistant message's content as Anthropic blocks; empty text is dropped (Anthropic refuses it). */
const contentBlocks = (content: unknown, param: string): Array<AnthropicBlock> | InvalidRequest => {
  if (content === null || content === undefined) return []
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }]
  const blocks: Array<AnthropicBlock> = []
  for (const [j, part] of (content as ReadonlyArray<Part>).entries()) {
    const at = `${param}[${j}]`
    switch (part.type) {
      case "text":
      case "refusal": {
        const text = part.type === "text" ? part.text : part.refusal
        if (typeof text !== "string") return invalidAt(at, `expected a ${part.type} string`)
        if (text !== "") blocks.push({ type: "text", text })
        break
      }
      case "image_url": {
        const source = imageSource((part.image_url as { url?: unknown } | undefined)?.url, `${at}.image_url.url`)
        if (source instanceof InvalidRequest) return source
        blocks.push({ type: "image", source })
        break
      }
      case "file": {
        const data = DATA_URL.exec(String((part.file as { file_data?: unknown } | undefined)?.file_data ?? ""))
        if (data?.[1] !== "application/pdf") return invalidAt(`${at}.file`, "only PDF files sent as file_data can reach a Claude model")
        blocks.push({ type: "document", source: { type: "base64", media_type: "application/pdf", data: data[2]! } })
        break
      }
      default:
        return invalidAt(`${at}.type`, `content parts of type ${JSON.stringify(part.type)} cannot reach a Claude model`)
    }
  }
  return blocks
}

/** Tool arguments as the JSON object Anthropic's `tool_use.input` must be. */
export const toolInput = (args: string, param: string): Record<string, unknown> | InvalidRequest => {
  if (args.trim() === "") return {}
  try {
    const input: unknown = JSON.parse(args)
    if (input !== null && typeof input === "object" && !Array.isArray(input)) return input as Record<string, unknown>
  } catch {
    // answered below
  }
  return invalidAt(param, "tool call arguments must be a JSON object")
}

/**
 * Appends blocks to the conversation, merging a turn of the same role into the last one:
 * Anthropic wants turns to alternate, and every `tool_result` first in its user turn. A message
 * that left no blocks (empty text, no tool calls) is skipped: Anthropic refuses an empty turn,
 * and as it merges consecutive turns of one role itself, the turns around it mean the same.
 */
export const append = (turns: Array<Turn>, role: Turn["role"], blocks: ReadonlyArray<AnthropicBlock>) => {
  if (blocks.length === 0) return
  const last = turns.at(-1)
  if (last === undefined || last.role !== role) {
    turns.push({ role, content: [...blocks] })
    return
  }
  for (const block of blocks) {
    if (block.type !== "tool_result") {
      last.content.push(block)
      continue
    }
    const firstOther = last.content.findIndex((b) => b.type !== "tool_result")
    last.content.splice(firstOther === -1 ? last.content.length : firstOther, 0, block)
  }
}

const toolChoiceOf = (choice: unknown): Record<string, unknown> | InvalidRequest => {
  if (choice === "auto") return { type: "auto" }
  if (choice === "required") return { type: "any" }
  if (choice === "none") return { type: "none" }
  const named = choice as { type?: unknown; function?: { name?: unknown } } | null
  if (named?.type === "function" && typeof named.function?.name === "string") return { type: "tool", name: named.function.name }
  return invalidAt("tool_choice", "expected \"auto\", \"required\", \"none\" or a function to call")
}

/**
 * Claude's thinking for the request's `reasoning_effort`, where Claude can think: a model that
 * reasons, no forced tool (Claude refuses forced tool use while thinking), and no tool call in
 * the last assistant turn. Claude wants that turn's thinking back, signed, before its tool
 * use; Chat Completions has no field that brings it back, so the loop goes on without.
 */
const thinkingFor = (body: Body, target: TargetModel, turns: ReadonlyArray<Turn>, maxTokens: number) => {
  if (!target.reasoning) return undefined
  const choice = body.tool_choice as string | { type?: unknown } | null | undefined
  if (choice === "required" || (typeof choice === "object" && choice?.type === "function")) return undefined
  const lastAssistant = turns.findLast((turn) => turn.role === "assistant")
  if (lastAssistant?.content.some((block) => block.type === "tool_use")) return undefined
  return anthropicThinkingOf(body.reasoning_effort, target.model, maxTokens)
}

/**
 * A chat-completions request as an Anthropic Messages request for a Claude model
 * (PROTOCOLS.md 3.1). Fails with a 400 naming the field for what Claude cannot take.
 */
/**
 * Claude's thinking (with its effort) or, without it, the client's sampling settings: Claude
 * refuses sampling changes while it thinks, so they reach it only without thinking.
 */
export const thinkOrSample = (
  out: Record<string, unknown>,
  outputConfig: Record<string, unknown>,
  thinking: { readonly thinking: unknown; readonly effort?: unknown } | undefined,
  body: { readonly temperature?: unknown; readonly top_p?: unknown }
): void => {
  if (thinking !== undefined) {
    out.thinking = thinking.thinking
    if (thinking.effort !== undefined) outputConfig.effort = thinking.effort
    return
  }
  if (typeof body.temperature === "number") out.temperature = Math.min(body.temperature, MAX_ANTHROPIC_TEMPERATURE)
  if (typeof body.top_p === "number") out.top_p = body.top_p
}

export const toAnthropicRequest = (body: Body, target: TargetModel): Record<string, unknown> | InvalidRequest => {
  if (typeof body.n === "number" && body.n > 1) return invalidAt("n", "Claude models answer with one choice; n must be 1")
  const system: Array<AnthropicBlock> = []
  const turns: Array<Turn> = []
  for (const [i, message] of body.messages.entries()) {
    const param = `messages[${i}]`
    switch (message.role) {
      case "system":
      case "developer": {
        const text = textContent(message.content, `${param}.content`)
        if (text instanceof InvalidRequest) return text
        if (text !== "") system.push({ type: "text", text })
        break
      }
      case "user": {
        const blocks = contentBlocks(message.content, `${param}.content`)
        if (blocks instanceof InvalidRequest) return blocks
        append(turns, "user", blocks)
        break
      }
      case "assistant": {
        const blocks = contentBlocks(message.content, `${param}.content`)
        if (blocks instanceof InvalidRequest) return blocks
        for (const [j, call] of (message.tool_calls ?? []).entries()) {
          const input = toolInput(call.function.arguments, `${param}.tool_calls[${j}].function.arguments`)
          if (input instanceof InvalidRequest) return input
          blocks.push({ type: "tool_use", id: call.id, name: call.function.name, input })
        }
        append(turns, "assistant", blocks)
        break
      }
      case "tool": {
        if (message.tool_call_id === undefined) return invalidAt(`${param}.tool_call_id`, "a tool message needs the id of its tool call")
        const text = textContent(message.content, `${param}.content`)
        if (text instanceof InvalidRequest) return text
        append(turns, "user", [{ type: "tool_result", tool_use_id: message.tool_call_id, content: text }])
        break
      }
      default:
        return invalidAt(`${param}.role`, "function messages cannot reach a Claude model; send tool messages")
    }
  }

  // Anthropic requires at least one turn; a request of system prompts and empty messages has none.
  if (turns.length === 0) return invalidAt("messages", "no user or assistant message has content; a Claude model needs at least one")

  const requested = body.max_completion_tokens ?? body.max_tokens
  const cap = target.maxOutputTokens
  const out: Record<string, unknown> = {
    model: target.model,
    max_tokens: requested == null ? cap ?? DEFAULT_ANTHROPIC_MAX_TOKENS : Math.min(requested, cap ?? requested),
    messages: turns
  }
  const outputConfig: Record<string, unknown> = {}
  if (system.length > 0) out.system = system
  const thinking = thinkingFor(body, target, turns, out.max_tokens as number)
  thinkOrSample(out, outputConfig, thinking, body)
  if (typeof body.stop === "string") out.stop_sequences = [body.stop]
  else if (Array.isArray(body.stop)) {
    if (!body.stop.every((stop) => typeof stop === "string")) return invalidAt("stop", "expected a string or an array of strings")
    out.stop_sequences = body.stop
  } else if (body.stop !== undefined && body.stop !== null) return invalidAt("stop", "expected a string or an array of strings")
  if (body.stream === true) out.stream = true

  const tools = body.tools ?? []
  if (tools.length > 0) {
    const converted: Array<Record<string, unknown>> = []
    for (const [i, tool] of (tools as ReadonlyArray<Part>).entries()) {
      const fn = tool.function as { name?: unknown; description?: unknown; parameters?: unknown; strict?: unknown } | undefined
      if (tool.type !== "function" || typeof fn?.name !== "string") {
        return invalidAt(`tools[${i}]`, "only function tools can reach a Claude model")
      }
      converted.push({
        name: fn.name,
        ...(typeof fn.description === "string" ? { description: fn.description } : {}),
        input_schema: fn.parameters ?? { type: "object", properties: {} },
        // Both APIs hold a strict tool's calls to its schema (PROTOCOLS.md 3.6.9).
        ...(typeof fn.strict === "boolean" ? { strict: fn.strict } : {})
      })
    }
    out.tools = converted
    let choice: Record<string, unknown> | undefined
    if (body.tool_choice !== undefined && body.tool_choice !== null) {
      const mapped = toolChoiceOf(body.tool_choice)
      if (mapped instanceof InvalidRequest) return mapped
      choice = mapped
    }
    if (body.parallel_tool_calls === false && choice?.type !== "none") choice = { ...(choice ?? { type: "auto" }), disable_parallel_tool_use: true }
    if (choice !== undefined) out.tool_choice = choice
  }

  const user = body.safety_identifier ?? body.user
  if (typeof user === "string") out.metadata = { user_id: user }
  const format = body.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | null | undefined
  if (format?.type === "json_schema" && format.json_schema?.schema !== undefined) {
    outputConfig.format = { type: "json_schema", schema: format.json_schema.schema }
  }
  if (Object.keys(outputConfig).length > 0) out.output_config = outputConfig
  return out
}
