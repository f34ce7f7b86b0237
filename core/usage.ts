/**
 * Token usage of one request in the relay's own terms, which follow OpenAI's: prompt tokens
 * include cached (read) tokens; completion tokens include reasoning tokens.
 */
export interface Usage {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cachedTokens: number
  readonly cacheWriteTokens: number
  readonly imageInputTokens: number
  readonly imageOutputTokens: number
  /** "upstream" when the provider reported it, "estimated" when the relay counted it. */
  readonly source: "upstream" | "estimated"
}

export const emptyUsage: Usage = {
  promptTokens: 0,
  completionTokens: 0,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  imageInputTokens: 0,
  imageOutputTokens: 0,
  source: "estimated"
}

const count = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0)

/** Reads an OpenAI `CompletionUsage` object (chat completions, embeddings). */
export const fromOpenAIUsage = (raw: unknown): Usage | undefined => {
  if (raw === null || typeof raw !== "object") return undefined
  const usage = raw as Record<string, unknown>
  const promptDetails = (usage.prompt_tokens_details ?? {}) as Record<string, unknown>
  return {
    promptTokens: count(usage.prompt_tokens),
    completionTokens: count(usage.completion_tokens),
    cachedTokens: count(promptDetails.cached_tokens),
    cacheWriteTokens: count(promptDetails.cache_write_tokens),
    imageInputTokens: 0,
    imageOutputTokens: 0,
    source: "upstream"
  }
}

export const totalTokens = (usage: Usage): number => usage.promptTokens + usage.completionTokens

/**
 * A rough count for text the relay must estimate (a stream cut before the upstream reported
 * usage, the echo provider): about four characters of English per token, at least one.
 */
export const estimateTokens = (text: string): number => (text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4)))
