import { InvalidRequest } from "../errors.ts"
import { invalidAt } from "../surfaces/schema-error.ts"
import {
  append,
  DEFAULT_ANTHROPIC_MAX_TOKENS,
  imageSource,
  thinkOrSample,
  toolInput,
  type Turn
} from "./openai-to-anthropic-request.ts"
import { anthropicThinkingOf } from "./reasoning.ts"
import { contentParts, CUSTOM_INPUT, inputItems, itemKind, jsonSchemaFormat, textOf, toolChoiceOf, toolSpecs } from "./responses-input.ts"
import type { AnthropicBlock, TargetModel } from "./wire.ts"

/** The prefix of a reasoning item's `encrypted_content` that holds Claude's signed thinking. */
const THINKING_STATE = "rr-thinking:"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * Claude's thinking block (signed, or redacted) as a reasoning item's `encrypted_content`: a
 * Responses client sends it back on its next turn, where Claude requires it unchanged in a tool
 * loop (PROTOCOLS.md 3.6.1). It is opaque to the client, as OpenAI's own is.
 */
export const thinkingState = (block: Readonly<Record<string, unknown>>): string => {
  let binary = ""
  for (const byte of encoder.encode(JSON.stringify(block))) binary += String.fromCharCode(byte)
  return THINKING_STATE + btoa(binary)
}

/** Whether a reasoning item's `encrypted_content` is Claude's thinking, which no other model can read. */
export const isThinkingState = (encrypted: unknown): boolean => typeof encrypted === "string" && encrypted.startsWith(THINKING_STATE)

/** The thinking block a reasoning item carries; undefined for one that is not Claude's (OpenAI's own). */
const thinkingOf = (encrypted: unknown): AnthropicBlock | undefined => {
  if (typeof encrypted !== "string" || !encrypted.startsWith(THINKING_STATE)) return undefined
  try {
    const binary = atob(encrypted.slice(THINKING_STATE.length))
    const block = JSON.parse(decoder.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))) as AnthropicBlock
    return block.type === "thinking" || block.type === "redacted_thinking" ? block : undefined
  } catch {
    return undefined
  }
}


type Body = Readonly<Record<string, unknown>>

/** A user or assistant message's parts as Anthropic blocks; empty text is dropped (Anthropic refuses it). */
const messageBlocks = (content: unknown, param: string): Array<AnthropicBlock> | InvalidRequest => {
  const blocks: Array<AnthropicBlock> = []
  for (const [j, part] of contentParts(content).entries()) {
    const at = `${param}[${j}]`
    switch (part.type) {
      case "input_text":
      case "output_text":
      case "text":
      case "refusal": {
        const text = part.type === "refusal" ? part.refusal : part.text
        if (typeof text !== "string") return invalidAt(at, "expected text")
        if (text !== "") blocks.push({ type: "text", text })
        break
      }
      case "input_image": {
        if (typeof part.image_url !== "string") return invalidAt(`${at}.image_url`, "only images given by image_url can reach a Claude model")
        const source = imageSource(part.image_url, `${at}.image_url`)
        if (source instanceof InvalidRequest) return source
        blocks.push({ type: "image", source })
        break
      }
      case "input_file": {
        const data = /^data:application\/pdf;base64,(.*)$/s.exec(typeof part.file_data === "string" ? part.file_data : "")
        if (data === null) return invalidAt(`${at}.file_data`, "only PDF files sent as file_data (a base64 data URL) can reach a Claude model")
        blocks.push({ type: "document", source: { type: "base64", media_type: "application/pdf", data: data[1]! } })
        break
      }
      default:
        return invalidAt(`${at}.type`, `content parts of type ${JSON.stringify(part.type)} cannot reach a Claude model`)
    }
  }
  return blocks
}

/**
 * A Responses request as an Anthropic Messages request (PROTOCOLS.md 8, "Mapping to
 * Anthropic"): instructions and system or developer messages become `system`; function and
 * custom tool calls and their outputs become `tool_use` and `tool_result`; a reasoning item
 * that carries Claude's thinking is given back as that thinking block. A custom tool becomes a
 * Claude tool taking its free text as one string argument.
 */
export const responsesToAnthropic = (body: Body, target: TargetModel & { readonly clientModel: string }): Record<string, unknown> | InvalidRequest => {
  const system: Array<AnthropicBlock> = []
  if (typeof body.instructions === "string" && body.instructions !== "") system.push({ type: "text", text: body.instructions })
  const turns: Array<Turn> = []
  for (const [i, item] of inputItems(body.input).entries()) {
    const param = `input[${i}]`
    switch (itemKind(item)) {
      case "message": {
        const role = item.role
        if (role === "system" || role === "developer") {
          const text = textOf(item.content, `${param}.content`)
          if (text instanceof InvalidRequest) return text
          if (text !== "") system.push({ type: "text", text })
          break
        }
        if (role !== "user" && role !== "assistant") return invalidAt(`${param}.role`, "expected user, assistant, system or developer")
        const blocks = messageBlocks(item.content, `${param}.content`)
        if (blocks instanceof InvalidRequest) return blocks
        append(turns, role, blocks)
        break
      }
      case "function_call":
      case "custom_tool_call": {
        if (typeof item.call_id !== "string" || typeof item.name !== "string") return invalidAt(param, "a tool call needs its call_id and name")
        let input: Record<string, unknown> | InvalidRequest
        if (item.type === "function_call") input = toolInput(typeof item.arguments === "string" ? item.arguments : "", `${param}.arguments`)
        else input = { [CUSTOM_INPUT]: typeof item.input === "string" ? item.input : "" }
        if (input instanceof InvalidRequest) return input
        append(turns, "assistant", [{ type: "tool_use", id: item.call_id, name: item.name, input }])
        break
      }
      case "function_call_output":
      case "custom_tool_call_output": {
        if (typeof item.call_id !== "string") return invalidAt(`${param}.call_id`, "a tool output needs the call_id of its call")
        const text = textOf(item.output ?? "", `${param}.output`)
        if (text instanceof InvalidRequest) return text
        append(turns, "user", [{ type: "tool_result", tool_use_id: item.call_id, content: text }])
        break
      }
      case "reasoning": {
        // Another model's reasoning (OpenAI's own encrypted state) means nothing to Claude.
        const thinking = thinkingOf(item.encrypted_content)
        if (thinking !== undefined) append(turns, "assistant", [thinking])
        break
      }
      default:
        return invalidAt(`${param}.type`, `input items of type ${JSON.stringify(item.type)} cannot reach a Claude model`)
    }
  }
  if (turns.length === 0) return invalidAt("input", "no user or assistant message has content; a Claude model needs at least one")

  const cap = target.maxOutputTokens
  const requested = typeof body.max_output_tokens === "number" ? body.max_output_tokens : undefined
  const maxTokens = requested === undefined ? cap ?? DEFAULT_ANTHROPIC_MAX_TOKENS : Math.min(requested, cap ?? requested)
  const out: Record<string, unknown> = { model: target.model, max_tokens: maxTokens, messages: turns }
  if (system.length > 0) out.system = system
  if (body.stream === true) out.stream = true

  const specs = toolSpecs(body.tools, target.clientModel, body.tool_choice)
  if (specs instanceof InvalidRequest) return specs
  const choice = toolChoiceOf(body.tool_choice)
  if (choice instanceof InvalidRequest) return choice
  let forced = false
  if (specs.length > 0) {
    out.tools = specs.map((spec) => ({
      name: spec.name,
      ...(spec.description === undefined ? {} : { description: spec.description }),
      input_schema: spec.parameters,
      ...(spec.strict === undefined ? {} : { strict: spec.strict })
    }))
    let mapped: Record<string, unknown> | undefined = choice === undefined
      ? undefined
      : choice === "auto"
      ? { type: "auto" }
      : choice === "required"
      ? { type: "any" }
      : choice === "none"
      ? { type: "none" }
      : { type: "tool", name: choice.name }
    forced = mapped?.type === "any" || mapped?.type === "tool"
    if (body.parallel_tool_calls === false && mapped?.type !== "none") mapped = { ...(mapped ?? { type: "auto" }), disable_parallel_tool_use: true }
    if (mapped !== undefined) out.tool_choice = mapped
  }

  // Claude thinks as the chat translation has it think (reasoning.ts), where it can: a model
  // that reasons, no forced tool (refused while thinking), and no tool call in the last
  // assistant turn unless that turn's signed thinking came back before it, as Claude requires.
  const outputConfig: Record<string, unknown> = {}
  const effort = (body.reasoning as { effort?: unknown } | null | undefined)?.effort
  const lastAssistant = turns.findLast((turn) => turn.role === "assistant")?.content
  const unsigned = lastAssistant !== undefined && lastAssistant.some((block) => block.type === "tool_use") &&
    lastAssistant[0]?.type !== "thinking" && lastAssistant[0]?.type !== "redacted_thinking"
  const thinking = target.reasoning && !forced && !unsigned ? anthropicThinkingOf(effort, target.model, maxTokens) : undefined
  thinkOrSample(out, outputConfig, thinking, body)

  const format = jsonSchemaFormat(body.text)
  if (format !== undefined) outputConfig.format = { type: "json_schema", schema: format.schema }
  if (Object.keys(outputConfig).length > 0) out.output_config = outputConfig
  const user = body.safety_identifier ?? body.user
  if (typeof user === "string") out.metadata = { user_id: user }
  // A cache key says the caller wants its prompt prefix cached: Claude caches only when asked.
  if (typeof body.prompt_cache_key === "string") out.cache_control = { type: "ephemeral" }
  return out
}
