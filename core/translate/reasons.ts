/** Why a response ended, in each protocol's words (PROTOCOLS.md 3.3). */

/**
 * An Anthropic `stop_reason` as an OpenAI `finish_reason`. The matched stop string, a paused
 * server-tool turn and a context overflow have no OpenAI words and collapse to the nearest.
 */
export const finishReasonOf = (stopReason: string | null | undefined): string => {
  switch (stopReason) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length"
    case "tool_use":
      return "tool_calls"
    case "refusal":
      return "content_filter"
    default:
      return "stop"
  }
}

/** An OpenAI `finish_reason` as an Anthropic `stop_reason`. */
export const stopReasonOf = (finishReason: string | null | undefined): string => {
  switch (finishReason) {
    case "length":
      return "max_tokens"
    case "tool_calls":
    case "function_call":
      return "tool_use"
    case "content_filter":
      return "refusal"
    default:
      return "end_turn"
  }
}
