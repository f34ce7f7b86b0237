import { fromAnthropicUsage, type Usage } from "../usage.ts"
import { finishReasonOf } from "./reasons.ts"
import { openAIUsageOf } from "./usage-wire.ts"
import type { AnthropicBlock, OpenAIChatCompletion, OpenAIToolCall } from "./wire.ts"

interface UpstreamMessage {
  readonly id?: unknown
  readonly content?: unknown
  readonly stop_reason?: string | null
  readonly stop_details?: { readonly explanation?: unknown } | null
  readonly usage?: unknown
}

/**
 * An Anthropic message as a chat completion, named `model` (the client's own name for it).
 * Text blocks are joined; thinking becomes `reasoning_content`, the field OpenAI-compatible
 * servers answer reasoning in (Chat Completions has none of its own); a refusal's explanation
 * becomes `message.refusal`.
 */
export const toChatCompletion = (raw: unknown, model: string): { body: OpenAIChatCompletion; usage: Usage | undefined } => {
  const message = (raw ?? {}) as UpstreamMessage
  const blocks = (Array.isArray(message.content) ? message.content : []) as ReadonlyArray<AnthropicBlock>
  let text: string | null = null
  let reasoning: string | undefined
  const calls: Array<OpenAIToolCall> = []
  for (const block of blocks) {
    if (block.type === "text" && typeof block.text === "string") text = (text ?? "") + block.text
    else if (block.type === "thinking" && typeof block.thinking === "string") reasoning = (reasoning ?? "") + block.thinking
    else if (block.type === "tool_use") {
      calls.push({ id: String(block.id), type: "function", function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) } })
    }
  }
  const explanation = message.stop_details?.explanation
  const usage = fromAnthropicUsage(message.usage)
  return {
    body: {
      id: String(message.id ?? ""),
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{
        index: 0,
        message: {
          role: "assistant",
          content: text,
          refusal: message.stop_reason === "refusal" && typeof explanation === "string" ? explanation : null,
          ...(calls.length > 0 ? { tool_calls: calls } : {}),
          ...(reasoning !== undefined ? { reasoning_content: reasoning } : {})
        },
        finish_reason: finishReasonOf(message.stop_reason),
        logprobs: null
      }],
      ...(usage ? { usage: openAIUsageOf(usage) } : {})
    },
    usage
  }
}
