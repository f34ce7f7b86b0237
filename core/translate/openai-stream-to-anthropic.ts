import { eventPayload } from "../sse/events.ts"
import type { StreamTranslator, TranslationEnd } from "../sse/translate.ts"
import { estimatedUsage, fromOpenAIUsage, type Usage } from "../usage.ts"
import { anthropicErrorType } from "./error-types.ts"
import { stopReasonOf } from "./reasons.ts"
import { anthropicUsageOf } from "./usage-wire.ts"
import type { OpenAIChunk } from "./wire.ts"

export interface OpenAIToAnthropicOptions {
  /** The client's name for the model, echoed in `message_start`. */
  readonly model: string
  /** The relay's count of the prompt, for a stream whose upstream reported no usage. */
  readonly promptTokens: () => number
}

/** An Anthropic SSE event: Anthropic's SDKs drop any event without its `event:` line. */
const sse = (type: string, data: Record<string, unknown>): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`

/**
 * An OpenAI chat-completion stream as Anthropic Messages events (PROTOCOLS.md 3.4). Content
 * blocks open and close in order: reasoning (`reasoning_content` or `reasoning`, as
 * OpenAI-compatible servers stream it) opens a thinking block, text a text block, a tool call
 * with an id a tool-use block, and each argument fragment goes to its call's block, found by the call's
 * OpenAI index (a fragment arriving after its block closed still names that block, which the
 * SDKs accumulate by index). OpenAI reports usage only at the end, so `message_start` says 0 input tokens
 * and the final `message_delta` carries the real input, cache and output counts; it is held
 * back after `finish_reason` until the usage chunk (or `[DONE]`) arrives.
 */
export class OpenAIToAnthropicStream implements StreamTranslator {
  private started = false
  private blocks = 0
  /** The open content block. */
  private open: { readonly index: number; readonly kind: "text" | "thinking" | "tool" } | undefined
  /** The Anthropic block index of each OpenAI tool call. */
  private readonly blockOfTool = new Map<number, number>()
  private stopReason: string | undefined
  private refused = false
  private upstreamUsage: Usage | undefined
  private state: "streaming" | "done" | "failed" = "streaming"

  get finished(): boolean {
    return this.state === "done"
  }
  private deltas = 0

  constructor(private readonly options: OpenAIToAnthropicOptions) {}

  private start(id: string | undefined): string {
    if (this.started) return ""
    this.started = true
    return sse("message_start", {
      message: {
        id: id ?? "",
        type: "message",
        role: "assistant",
        model: this.options.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0 }
      }
    })
  }

  private close(): string {
    if (this.open === undefined) return ""
    const index = this.open.index
    this.open = undefined
    return sse("content_block_stop", { index })
  }

  private openBlock(block: Record<string, unknown>, kind: "text" | "thinking" | "tool", tool?: number): string {
    const index = this.blocks++
    const closed = this.close()
    this.open = { index, kind }
    if (tool !== undefined) this.blockOfTool.set(tool, index)
    return closed + sse("content_block_start", { index, content_block: block })
  }

  private text(text: string): string {
    const opened = this.open?.kind === "text" ? "" : this.openBlock({ type: "text", text: "" }, "text")
    this.deltas++
    return opened + sse("content_block_delta", { index: this.open!.index, delta: { type: "text_delta", text } })
  }

  private thinking(thinking: string): string {
    const opened = this.open?.kind === "thinking" ? "" : this.openBlock({ type: "thinking", thinking: "", signature: "" }, "thinking")
    this.deltas++
    return opened + sse("content_block_delta", { index: this.open!.index, delta: { type: "thinking_delta", thinking } })
  }

  private finishMessage(): string {
    this.state = "done"
    return this.start(undefined) + this.close() + sse("message_delta", {
      delta: { stop_reason: this.stopReason ?? "end_turn", stop_sequence: null },
      usage: anthropicUsageOf(this.usage())
    }) + sse("message_stop", {})
  }

  event(event: Uint8Array): string {
    if (this.state !== "streaming") return ""
    const payload = eventPayload(event)
    if (payload === undefined) return ""
    if (payload === "[DONE]") return this.finishMessage()
    let chunk: OpenAIChunk
    try {
      chunk = JSON.parse(payload)
    } catch {
      // Not JSON: the tail of a stream cut mid-event. Its end reports the cut.
      return ""
    }
    if (chunk.error !== undefined) {
      const message = typeof chunk.error?.message === "string" ? chunk.error.message : "the upstream stream failed"
      const type = typeof chunk.error?.type === "string" ? anthropicErrorType(chunk.error.type) : "api_error"
      this.state = "failed"
      return sse("error", { error: { type, message } })
    }
    let out = this.start(chunk.id)
    const usage = fromOpenAIUsage(chunk.usage)
    if (usage !== undefined) this.upstreamUsage = usage
    const choice = chunk.choices?.[0]
    const delta = choice?.delta
    const reasoning = delta?.reasoning_content ?? delta?.reasoning
    if (typeof reasoning === "string" && reasoning !== "") out += this.thinking(reasoning)
    if (typeof delta?.content === "string" && delta.content !== "") out += this.text(delta.content)
    if (typeof delta?.refusal === "string" && delta.refusal !== "") {
      this.refused = true
      out += this.text(delta.refusal)
    }
    for (const call of delta?.tool_calls ?? []) {
      const tool = call.index ?? 0
      if (call.id !== undefined && !this.blockOfTool.has(tool)) {
        out += this.openBlock({ type: "tool_use", id: call.id, name: call.function?.name ?? "", input: {} }, "tool", tool)
      }
      const index = this.blockOfTool.get(tool)
      const args = call.function?.arguments
      if (index !== undefined && args) {
        this.deltas++
        out += sse("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: args } })
      }
    }
    if (choice?.finish_reason) {
      out += this.close()
      this.stopReason = this.refused ? "refusal" : stopReasonOf(choice.finish_reason)
    }
    if (this.stopReason !== undefined && this.upstreamUsage !== undefined) out += this.finishMessage()
    return out
  }

  end(): TranslationEnd {
    if (this.state === "streaming") {
      // An upstream that ignores include_usage ends after finish_reason without a usage chunk.
      return this.stopReason === undefined ? { kind: "cut" } : { kind: "complete", text: this.finishMessage() }
    }
    return this.state === "done" ? { kind: "complete", text: "" } : { kind: "upstream-error" }
  }

  usage(): Usage {
    return this.upstreamUsage ?? estimatedUsage(undefined, this.options.promptTokens, this.deltas)
  }
}
