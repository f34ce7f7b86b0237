import { eventData } from "../sse/events.ts"
import type { StreamTranslator, TranslationEnd } from "../sse/translate.ts"
import { AnthropicStreamUsage, estimatedUsage, fromAnthropicUsage, type Usage } from "../usage.ts"
import { customInputOf } from "./responses-input.ts"
import { type ResponseBuilder, type ResponseEnd } from "./responses-output.ts"
import { thinkingState } from "./responses-to-anthropic.ts"
import type { AnthropicBlock } from "./wire.ts"

/** How an Anthropic `stop_reason` ends a response (PROTOCOLS.md 3.3). */
export const endOfStop = (stopReason: unknown): ResponseEnd => {
  switch (stopReason) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return { status: "incomplete", reason: "max_output_tokens" }
    case "refusal":
      return { status: "incomplete", reason: "content_filter" }
    default:
      return { status: "completed" }
  }
}

/** Tells one whole Anthropic content block to the builder. */
const tellBlock = (builder: ResponseBuilder, block: AnthropicBlock, customTools: ReadonlySet<string>): void => {
  switch (block.type) {
    case "text":
      if (typeof block.text === "string" && block.text !== "") builder.text(block.text)
      break
    case "thinking":
      if (typeof block.thinking === "string" && block.thinking !== "") builder.reasoning(block.thinking)
      builder.reasoningState(thinkingState(block))
      builder.close()
      break
    case "redacted_thinking":
      builder.reasoningState(thinkingState(block))
      builder.close()
      break
    case "tool_use": {
      const name = String(block.name)
      const custom = customTools.has(name)
      builder.toolCall(custom ? "custom_tool_call" : "function_call", String(block.id), name)
      builder.toolInput(custom ? customInputOf(block.input) : JSON.stringify(block.input ?? {}))
      builder.close()
      break
    }
  }
}

/** An Anthropic message as a Responses answer, built by `builder` (not streaming). */
export const anthropicToResponse = (
  raw: unknown,
  builder: ResponseBuilder,
  customTools: ReadonlySet<string>
): { body: Record<string, unknown>; usage: Usage | undefined } => {
  const message = (raw ?? {}) as { content?: unknown; stop_reason?: unknown; usage?: unknown }
  for (const block of (Array.isArray(message.content) ? message.content : []) as ReadonlyArray<AnthropicBlock>) {
    tellBlock(builder, block, customTools)
  }
  const usage = fromAnthropicUsage(message.usage)
  builder.finish(endOfStop(message.stop_reason), usage)
  return { body: builder.response(), usage }
}

interface StreamEvent {
  readonly type?: string
  readonly index?: number
  readonly message?: { readonly usage?: unknown }
  readonly content_block?: AnthropicBlock
  readonly delta?: {
    readonly type?: string
    readonly text?: string
    readonly thinking?: string
    readonly signature?: string
    readonly partial_json?: string
    readonly stop_reason?: string | null
  }
  readonly usage?: unknown
  readonly error?: { readonly type?: unknown; readonly message?: unknown }
}

/** The block being streamed: what its stop needs to finish it. */
type OpenBlock =
  | { readonly type: "text" }
  | { readonly type: "thinking"; thinking: string; signature: string }
  | { readonly type: "tool_use"; readonly custom: boolean; json: string }
  | { readonly type: "other" }

/**
 * An Anthropic Messages stream as Responses events: text deltas as output text, thinking as a
 * reasoning summary whose signed block travels in `encrypted_content`, tool uses as function
 * (or custom tool) calls, the stop reason as the status; usage from `message_start` and
 * `message_delta`.
 */
export class AnthropicToResponsesStream implements StreamTranslator {
  private readonly totals = new AnthropicStreamUsage()
  private block: OpenBlock = { type: "other" }
  private stopReason: unknown
  private state: "streaming" | "done" | "failed" = "streaming"
  private deltas = 0

  constructor(
    private readonly builder: ResponseBuilder,
    private readonly customTools: ReadonlySet<string>,
    private readonly promptTokens: () => number
  ) {}

  get finished(): boolean {
    return this.state === "done"
  }

  event(event: Uint8Array): string {
    if (this.state !== "streaming") return ""
    const data = eventData(event)
    if (data === undefined) return ""
    let parsed: StreamEvent
    try {
      parsed = JSON.parse(data)
    } catch {
      return ""
    }
    const builder = this.builder
    switch (parsed.type) {
      case "message_start":
        this.totals.start(parsed.message?.usage)
        return builder.start()
      case "content_block_start": {
        const block = parsed.content_block
        switch (block?.type) {
          case "text":
            this.block = { type: "text" }
            return typeof block.text === "string" && block.text !== "" ? builder.text(block.text) : ""
          case "thinking":
            this.block = { type: "thinking", thinking: "", signature: "" }
            return ""
          case "redacted_thinking":
            this.block = { type: "other" }
            return builder.reasoningState(thinkingState(block)) + builder.close()
          case "tool_use": {
            const name = String(block.name)
            const custom = this.customTools.has(name)
            this.block = { type: "tool_use", custom, json: "" }
            return builder.toolCall(custom ? "custom_tool_call" : "function_call", String(block.id), name)
          }
          default:
            this.block = { type: "other" }
            return ""
        }
      }
      case "content_block_delta": {
        const delta = parsed.delta
        const block = this.block
        if (delta?.type === "text_delta" && typeof delta.text === "string") {
          this.deltas++
          return builder.text(delta.text)
        }
        if (delta?.type === "thinking_delta" && block.type === "thinking" && typeof delta.thinking === "string") {
          this.deltas++
          block.thinking += delta.thinking
          return builder.reasoning(delta.thinking)
        }
        if (delta?.type === "signature_delta" && block.type === "thinking" && typeof delta.signature === "string") {
          block.signature += delta.signature
          return ""
        }
        if (delta?.type === "input_json_delta" && block.type === "tool_use" && typeof delta.partial_json === "string") {
          this.deltas++
          block.json += delta.partial_json
          // A custom tool's input is the string inside the JSON: told whole at the block's stop.
          return block.custom ? "" : builder.toolInput(delta.partial_json)
        }
        return ""
      }
      case "content_block_stop": {
        const block = this.block
        this.block = { type: "other" }
        if (block.type === "thinking") {
          return builder.reasoningState(thinkingState({ type: "thinking", thinking: block.thinking, signature: block.signature })) + builder.close()
        }
        if (block.type !== "tool_use") return ""
        if (!block.custom) return builder.close()
        let input: unknown = {}
        try {
          input = block.json === "" ? {} : JSON.parse(block.json)
        } catch {
          // An input cut short: told as far as it went.
          return builder.toolInput(block.json) + builder.close()
        }
        return builder.toolInput(customInputOf(input)) + builder.close()
      }
      case "message_delta":
        this.totals.delta(parsed.usage)
        if (parsed.delta?.stop_reason !== undefined && parsed.delta.stop_reason !== null) this.stopReason = parsed.delta.stop_reason
        return ""
      case "message_stop":
        this.state = "done"
        return builder.finish(endOfStop(this.stopReason), this.usage())
      case "error": {
        this.state = "failed"
        const message = typeof parsed.error?.message === "string" ? parsed.error.message : "the upstream stream failed"
        return builder.fail(parsed.error?.type === "overloaded_error" ? "server_is_overloaded" : "server_error", message)
      }
      default:
        return ""
    }
  }

  end(): TranslationEnd {
    if (this.state === "done") return { kind: "complete", text: "" }
    return this.state === "streaming" ? { kind: "cut" } : { kind: "upstream-error" }
  }

  usage(): Usage {
    return this.totals.usage ?? estimatedUsage(this.totals.started, this.promptTokens, this.deltas)
  }
}
