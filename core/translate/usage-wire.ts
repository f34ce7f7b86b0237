import type { Usage } from "../usage.ts"
import type { AnthropicUsage, OpenAIUsage } from "./wire.ts"

/** The relay's usage as OpenAI reports it: the prompt includes cache reads (and writes). */
export const openAIUsageOf = (usage: Usage): OpenAIUsage => ({
  prompt_tokens: usage.promptTokens,
  completion_tokens: usage.completionTokens,
  total_tokens: usage.promptTokens + usage.completionTokens,
  prompt_tokens_details: {
    cached_tokens: usage.cachedTokens,
    ...(usage.cacheWriteTokens > 0 ? { cache_write_tokens: usage.cacheWriteTokens } : {})
  }
})

/** The relay's usage as Anthropic reports it: `input_tokens` counts only what was not cached. */
export const anthropicUsageOf = (usage: Usage): AnthropicUsage => ({
  input_tokens: Math.max(0, usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens),
  cache_creation_input_tokens: usage.cacheWriteTokens,
  cache_read_input_tokens: usage.cachedTokens,
  output_tokens: usage.completionTokens
})
