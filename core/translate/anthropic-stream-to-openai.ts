import { eventData } from "../sse/events.ts"
import type { StreamTranslator, TranslationEnd } from "../sse/translate.ts"
import { AnthropicStreamUsage, estimatedUsage, type Usage } from "../usage.ts"
import { openAIErrorType } from "./error-types.ts"
import { finishReasonOf } from "./reasons.ts"
import { openAIUsageOf } from "./usage-wire.ts"
import type { AnthropicEvent, OpenAIChunkToolCall } from "./wire.ts"

export interface AnthropicToOpenAIOptions {
  /** The client's name for the model, echoed in every chunk. */
  readonly model: string
  /** The client asked for the usage chunk (`stream_options.include_usage`). */
  readonly includeUsage: boolean
  /** The relay's count of the prompt, for a stream cut before Anthropic reported usage. */
  readonly promptTokens: () => number
}

const DONE = "data: [DONE]\n\n"

/**
 * An Anthropic Messages stream as OpenAI chat-completion chunks (PROTOCOLS.md 3.4). `id`,
 * `created` and `model` stay fixed for the whole stream. Each tool-use block becomes one tool
 * call, numbered in arrival order; its `input_json_delta` fragments become argument fragments
 * under that number, and a block that sent none gets `{}` at its stop. Thinking arrives as
 * `reasoning_content` deltas, as OpenAI-compatible servers stream reasoning; its signature,
 * which no OpenAI client could send back, is not passed on.
 */
export class AnthropicToOpenAIStream implements StreamTranslator {
  private readonly totals = new AnthropicStreamUsage()
  private readonly created = Math.floor(Date.now() / 1000)
  private id = ""
  /** The OpenAI tool-call index of each Anthropic tool-use block, by block index. */
  private readonly toolOfBlock = new Map<number, number>()
  /** The tool calls that have had an argument fragment. */
  private readonly argued = new Set<number>()
  private state: "streaming" | "done" | "failed" = "streaming"
  /** `message_stop` has been translated: the client's `[DONE]` is out. */
  finished = false
  /** Content deltas passed on: about one token each, the estimate for a cut stream. */
  private deltas = 0

  constructor(private readonly options: AnthropicToOpenAIOptions) {}

  private chunk(delta: Record<string, unknown>, finishReason: string | null = null): string {
    return `data: ${JSON.stringify({
      id: this.id,
      object: "chat.completion.chunk",
      created: this.created,
      model: this.options.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(this.options.includeUsage ? { usage: null } : {})
    })}\n\n`
  }

  private toolCall(call: OpenAIChunkToolCall): string {
    return this.chunk({ tool_calls: [call] })
  }

  event(event: Uint8Array): string {
    if (this.state !== "streaming") return ""
    const data = eventData(event)
    if (data === undefined) return ""
    let parsed: AnthropicEvent
    try {
      parsed = JSON.parse(data)
    } catch {
      // Not JSON: the tail of a stream cut mid-event. Its end reports the cut.
      return ""
    }
    switch (parsed.type) {
      case "message_start":
        this.id = parsed.message?.id ?? ""
        this.totals.start(parsed.message?.usage)
        return this.chunk({ role: "assistant", content: "" })
      case "content_block_start": {
        const block = parsed.content_block
        if (block?.type === "tool_use") {
          const index = this.toolOfBlock.size
          this.toolOfBlock.set(parsed.index ?? -1, index)
          return this.toolCall({ index, id: block.id ?? "", type: "function", function: { name: block.name ?? "", arguments: "" } })
        }
        return block?.type === "text" && block.text ? this.chunk({ content: block.text }) : ""
      }
      case "content_block_delta": {
        const delta = parsed.delta
        if (delta?.type === "text_delta" && delta.text) {
          this.deltas++
          return this.chunk({ content: delta.text })
        }
        if (delta?.type === "thinking_delta" && delta.thinking) {
          this.deltas++
          return this.chunk({ reasoning_content: delta.thinking })
        }
        const index = this.toolOfBlock.get(parsed.index ?? -1)
        if (delta?.type === "input_json_delta" && delta.partial_json && index !== undefined) {
          this.deltas++
          this.argued.add(index)
          return this.toolCall({ index, function: { arguments: delta.partial_json } })
        }
        return ""
      }
      case "content_block_stop": {
        // Anthropic sends no fragment for an empty input (PROTOCOLS.md 2.4: no fragments mean
        // {}), but an OpenAI client would be left with "" arguments, which are not JSON.
        const index = this.toolOfBlock.get(parsed.index ?? -1)
        return index === undefined || this.argued.has(index) ? "" : this.toolCall({ index, function: { arguments: "{}" } })
      }
      case "message_delta": {
        this.totals.delta(parsed.usage)
        // Anthropic may send more than one (later ones update usage); OpenAI finishes once.
        if (this.finished) return ""
        this.finished = true
        return this.chunk({}, finishReasonOf(parsed.delta?.stop_reason))
      }
      case "message_stop": {
        this.state = "done"
        return this.options.includeUsage
          ? `data: ${JSON.stringify({ id: this.id, object: "chat.completion.chunk", created: this.created, model: this.options.model, choices: [], usage: openAIUsageOf(this.usage()) })}\n\n${DONE}`
          : DONE
      }
      case "ping":
        return ": ping\n\n"
      case "error": {
        const message = typeof parsed.error?.message === "string" ? parsed.error.message : "the upstream stream failed"
        const type = typeof parsed.error?.type === "string" ? openAIErrorType(parsed.error.type) : "server_error"
        this.state = "failed"
        return `data: ${JSON.stringify({ error: { message, type, param: null, code: null } })}\n\n`
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
    return this.totals.usage ?? estimatedUsage(this.totals.started, this.options.promptTokens, this.deltas)
  }
}
