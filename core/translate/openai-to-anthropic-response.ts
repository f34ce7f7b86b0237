import { emptyUsage, fromOpenAIUsage, type Usage } from "../usage.ts"
import { stopReasonOf } from "./reasons.ts"
import { anthropicUsageOf } from "./usage-wire.ts"
import type { AnthropicBlock, AnthropicMessage, OpenAIChatCompletion } from "./wire.ts"

/** Tool-call arguments as Anthropic's `input` object; arguments that are not a JSON object cannot be carried. */
const inputOf = (args: string): unknown => {
  try {
    const input: unknown = JSON.parse(args)
    return input !== null && typeof input === "object" && !Array.isArray(input) ? input : {}
  } catch {
    return {}
  }
}

/**
 * A chat completion's first choice as an Anthropic message, named `model` (the client's own
 * name for it). Reasoning (`reasoning_content` or `reasoning`, from OpenAI-compatible
 * servers) becomes a thinking block; a refusal a text block and stop reason `refusal`.
 */
export const toAnthropicMessage = (raw: unknown, model: string): { body: AnthropicMessage; usage: Usage | undefined } => {
  const completion = (raw ?? {}) as Partial<OpenAIChatCompletion>
  const choice = completion.choices?.[0]
  const message = choice?.message
  const content: Array<AnthropicBlock> = []
  const reasoning = message?.reasoning_content ?? message?.reasoning
  // Unsigned: a client sends it back in a later turn, where the relay leaves thinking out.
  if (typeof reasoning === "string" && reasoning !== "") content.push({ type: "thinking", thinking: reasoning, signature: "" })
  if (typeof message?.content === "string" && message.content !== "") content.push({ type: "text", text: message.content })
  const refused = typeof message?.refusal === "string" && message.refusal !== ""
  if (refused) content.push({ type: "text", text: message.refusal! })
  for (const call of message?.tool_calls ?? []) {
    content.push({ type: "tool_use", id: call.id, name: call.function.name, input: inputOf(call.function.arguments) })
  }
  const usage = fromOpenAIUsage(completion.usage)
  return {
    body: {
      id: String(completion.id ?? ""),
      type: "message",
      role: "assistant",
      model,
      content,
      stop_reason: refused ? "refusal" : stopReasonOf(choice?.finish_reason),
      stop_sequence: null,
      usage: anthropicUsageOf(usage ?? emptyUsage)
    },
    usage
  }
}
