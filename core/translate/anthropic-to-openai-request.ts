import { InvalidRequest } from "../errors.ts"
import { invalidAt } from "../surfaces/schema-error.ts"
import type { MessagesRequest } from "../surfaces/anthropic-schema.ts"
import type { TargetModel } from "./wire.ts"
import { openAIEffortOf } from "./reasoning.ts"
import type { OpenAIToolCall } from "./wire.ts"

/** OpenAI takes at most four stop sequences. */
const MAX_STOP_SEQUENCES = 4

type Body = MessagesRequest & Record<string, unknown>
type Block = { readonly type: string; readonly [field: string]: unknown }
type Part = Record<string, unknown>
type ChatMessage = Record<string, unknown>

/** An Anthropic image block as an OpenAI image part: a base64 source becomes a data URL. */
const imagePart = (block: Block, param: string): Part | InvalidRequest => {
  const source = block.source as { type?: unknown; media_type?: unknown; data?: unknown; url?: unknown } | undefined
  if (source?.type === "base64" && typeof source.media_type === "string" && typeof source.data === "string") {
    return { type: "image_url", image_url: { url: `data:${source.media_type};base64,${source.data}` } }
  }
  if (source?.type === "url" && typeof source.url === "string") return { type: "image_url", image_url: { url: source.url } }
  return invalidAt(`${param}.source`, "only base64 and URL images can reach this model")
}

/** An Anthropic document block: a base64 PDF becomes a file part, plain text a text part. */
const documentPart = (block: Block, param: string): Part | InvalidRequest => {
  const source = block.source as { type?: unknown; media_type?: unknown; data?: unknown } | undefined
  if (source?.type === "base64" && source.media_type === "application/pdf" && typeof source.data === "string") {
    return { type: "file", file: { filename: "document.pdf", file_data: `data:application/pdf;base64,${source.data}` } }
  }
  if (source?.type === "text" && typeof source.data === "string") return { type: "text", text: source.data }
  return invalidAt(`${param}.source`, "only base64 PDF and plain-text documents can reach this model")
}

const textOf = (block: Block, param: string): string | InvalidRequest =>
  typeof block.text === "string" ? block.text : invalidAt(`${param}.text`, "expected a string")

/**
 * A tool result's content: its text for the `tool` message, and its images, which a `tool`
 * message cannot hold and which follow in a user message instead.
 */
const toolResult = (block: Block, param: string): { text: string; images: Array<Part> } | InvalidRequest => {
  const content = block.content
  if (content === undefined || content === null) return { text: "", images: [] }
  if (typeof content === "string") return { text: content, images: [] }
  if (!Array.isArray(content)) return invalidAt(`${param}.content`, "expected a string or content blocks")
  let text = ""
  const images: Array<Part> = []
  for (const [k, inner] of (content as ReadonlyArray<Block>).entries()) {
    const at = `${param}.content[${k}]`
    if (inner.type === "text") {
      const piece = textOf(inner, at)
      if (piece instanceof InvalidRequest) return piece
      text += piece
    } else if (inner.type === "image") {
      const image = imagePart(inner, at)
      if (image instanceof InvalidRequest) return image
      images.push(image)
    } else {
      return invalidAt(`${at}.type`, `tool results of type ${JSON.stringify(inner.type)} cannot reach this model`)
    }
  }
  return { text, images }
}

/** A user turn: its tool results become `tool` messages (first, as they answer the last turn), the rest one user message. */
const userMessages = (content: ReadonlyArray<Block>, param: string): Array<ChatMessage> | InvalidRequest => {
  const tools: Array<ChatMessage> = []
  const parts: Array<Part> = []
  for (const [j, block] of content.entries()) {
    const at = `${param}[${j}]`
    let part: Part | InvalidRequest
    switch (block.type) {
      case "text": {
        const text = textOf(block, at)
        if (text instanceof InvalidRequest) return text
        part = { type: "text", text }
        break
      }
      case "image":
        part = imagePart(block, at)
        break
      case "document":
        part = documentPart(block, at)
        break
      case "tool_result": {
        if (typeof block.tool_use_id !== "string") return invalidAt(`${at}.tool_use_id`, "expected the id of a tool use")
        const result = toolResult(block, at)
        if (result instanceof InvalidRequest) return result
        tools.push({ role: "tool", tool_call_id: block.tool_use_id, content: result.text })
        parts.push(...result.images)
        continue
      }
      default:
        return invalidAt(`${at}.type`, `content blocks of type ${JSON.stringify(block.type)} cannot reach this model`)
    }
    if (part instanceof InvalidRequest) return part
    parts.push(part)
  }
  if (parts.length === 0) return tools
  const only = parts[0]!
  const user = parts.length === 1 && only.type === "text" ? only.text : parts
  return [...tools, { role: "user", content: user }]
}

/**
 * An assistant turn: text joined, tool uses as tool calls. Thinking blocks are dropped: those
 * the relay made from an OpenAI-protocol model's reasoning go back to no such server (OpenAI
 * has no input for them, and DeepSeek's reasoner refuses `reasoning_content` sent back), and Claude's
 * signed ones mean nothing elsewhere. Server-tool blocks, which only Anthropic runs, go too.
 */
const assistantMessage = (content: ReadonlyArray<Block>): ChatMessage | undefined => {
  let text = ""
  const calls: Array<OpenAIToolCall> = []
  for (const block of content) {
    if (block.type === "text" && typeof block.text === "string") text += block.text
    else if (block.type === "tool_use") {
      calls.push({ id: String(block.id), type: "function", function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) } })
    }
  }
  if (text === "" && calls.length === 0) return undefined
  return { role: "assistant", content: text === "" ? null : text, ...(calls.length > 0 ? { tool_calls: calls } : {}) }
}

const systemText = (system: Body["system"]): string =>
  system === undefined ? "" : typeof system === "string" ? system : system.map((block) => block.text).join("\n\n")

/** A mid-conversation system message's text: a string or text blocks (their cache_control has no OpenAI input). */
const systemMessageText = (content: ReadonlyArray<Block>, param: string): string | InvalidRequest => {
  const texts: Array<string> = []
  for (const [j, block] of content.entries()) {
    if (block.type !== "text") return invalidAt(`${param}[${j}].type`, "a system message holds text blocks only")
    const text = textOf(block, `${param}[${j}]`)
    if (text instanceof InvalidRequest) return text
    texts.push(text)
  }
  return texts.join("\n\n")
}

/**
 * Context edits an OpenAI model is served without: clearing thinking, which never reaches it
 * (see `assistantMessage`). Others (clearing old tool results) would change what the model
 * sees, which the relay cannot do for it: refused.
 */
const HARMLESS_EDIT = /^clear_thinking_/

/** Anthropic's service tiers in OpenAI's words. */
const SERVICE_TIERS: Record<string, string> = { auto: "auto", standard_only: "default" }

/** Request fields for features only Anthropic's servers run: refused, as the request would mean something else without them. */
const ANTHROPIC_ONLY = ["container", "mcp_servers"] as const

/**
 * The fields besides the conversation that decide how an OpenAI model serves the request:
 * reasoning effort (for a model that reasons), service tier, context edits; a 400 naming the
 * field for what it cannot honour. Prompt caching needs nothing: OpenAI caches by itself.
 */
const servingFields = (body: Body, target: TargetModel): Record<string, unknown> | InvalidRequest => {
  const out: Record<string, unknown> = {}
  if (target.reasoning) {
    const effort = openAIEffortOf(body)
    if (effort !== undefined) out.reasoning_effort = effort
  }
  for (const [i, edit] of (body.context_management?.edits ?? []).entries()) {
    if (!HARMLESS_EDIT.test(edit.type)) {
      return invalidAt(`context_management.edits[${i}].type`, `${JSON.stringify(edit.type)} is served by Claude models only`)
    }
  }
  if (body.service_tier !== undefined) {
    const tier = SERVICE_TIERS[body.service_tier]
    if (tier === undefined) return invalidAt("service_tier", "expected \"auto\" or \"standard_only\"")
    out.service_tier = tier
  }
  for (const field of ANTHROPIC_ONLY) {
    if (body[field] !== undefined) return invalidAt(field, "is served by Claude models only")
  }
  return out
}

/**
 * An Anthropic Messages request as a chat-completions request for an OpenAI-protocol model
 * (PROTOCOLS.md 3.1, the other way). Fails with a 400 naming the field for what cannot cross.
 */
export const toOpenAIRequest = (body: Body, target: TargetModel): Record<string, unknown> | InvalidRequest => {
  const messages: Array<ChatMessage> = []
  const system = systemText(body.system)
  if (system !== "") messages.push({ role: "system", content: system })
  for (const [i, message] of body.messages.entries()) {
    const content = message.content
    if (typeof content === "string") {
      messages.push({ role: message.role, content })
      continue
    }
    const blocks = content as ReadonlyArray<Block>
    if (message.role === "system") {
      const text = systemMessageText(blocks, `messages[${i}].content`)
      if (text instanceof InvalidRequest) return text
      if (text !== "") messages.push({ role: "system", content: text })
    } else if (message.role === "user") {
      const converted = userMessages(blocks, `messages[${i}].content`)
      if (converted instanceof InvalidRequest) return converted
      messages.push(...converted)
    } else {
      const converted = assistantMessage(blocks)
      if (converted !== undefined) messages.push(converted)
    }
  }

  const serving = servingFields(body, target)
  if (serving instanceof InvalidRequest) return serving
  const cap = target.maxOutputTokens
  const out: Record<string, unknown> = {
    model: target.model,
    messages,
    max_completion_tokens: Math.min(body.max_tokens, cap ?? body.max_tokens),
    ...serving
  }
  if (body.temperature !== undefined) out.temperature = body.temperature
  if (body.top_p !== undefined) out.top_p = body.top_p
  if (body.stop_sequences !== undefined && body.stop_sequences.length > 0) out.stop = body.stop_sequences.slice(0, MAX_STOP_SEQUENCES)
  if (body.stream === true) {
    out.stream = true
    out.stream_options = { include_usage: true }
  }

  // Anthropic's server tools (web search, code execution...) run only at Anthropic: another
  // model is not offered them, so a client that declares them (Claude Code does) still works.
  const tools = (body.tools ?? []).filter((tool) => tool.type === undefined || tool.type === "custom")
  if (tools.length > 0) {
    out.tools = tools.map((tool) => ({
      type: "function",
      function: {
        name: tool.name,
        ...(tool.description !== undefined ? { description: tool.description } : {}),
        parameters: tool.input_schema ?? { type: "object", properties: {} },
        ...(tool.strict !== undefined ? { strict: tool.strict } : {})
      }
    }))
    const choice = body.tool_choice
    if (choice !== undefined) {
      if (choice.type === "tool") {
        if (choice.name === undefined) return invalidAt("tool_choice.name", "a tool choice of type tool names the tool")
        out.tool_choice = { type: "function", function: { name: choice.name } }
      } else {
        out.tool_choice = choice.type === "any" ? "required" : choice.type
      }
      if (choice.disable_parallel_tool_use === true && choice.type !== "none") out.parallel_tool_calls = false
    }
  }

  const format = body.output_config?.format
  if (format?.type === "json_schema" && format.schema !== undefined) {
    out.response_format = { type: "json_schema", json_schema: { name: "output", schema: format.schema } }
  }
  return out
}
