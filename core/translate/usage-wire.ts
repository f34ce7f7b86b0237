import type { Usage } from "../usage.ts"
import type { AnthropicUsage, OpenAIUsage } from "./wire.ts"

/**
 * The relay's usage as OpenAI reports it: the prompt includes cache reads (and writes). OpenAI
 * always reports reasoning tokens; from an upstream that reported no thinking tokens they are 0
 * (PROTOCOLS.md 3.5).
 */
export const openAIUsageOf = (usage: Usage): OpenAIUsage => ({
  prompt_tokens: usage.promptTokens,
  completion_tokens: usage.completionTokens,
  total_tokens: usage.promptTokens + usage.completionTokens,
  prompt_tokens_details: {
    cached_tokens: usage.cachedTokens,
    ...(usage.cacheWriteTokens > 0 ? { cache_write_tokens: usage.cacheWriteTokens } : {})
  },
  completion_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 }
})

/**
 * The relay's usage as Anthropic reports it: `input_tokens` counts only what was not cached.
 * `output_tokens_details` is optional in Anthropic's usage: sent only with a reported count.
 */
export const anthropicUsageOf = (usage: Usage): AnthropicUsage => ({
  input_tokens: Math.max(0, usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens),
  cache_creation_input_tokens: usage.cacheWriteTokens,
  cache_read_input_tokens: usage.cachedTokens,
  output_tokens: usage.completionTokens,
  ...(usage.reasoningTokens !== undefined ? { output_tokens_details: { thinking_tokens: usage.reasoningTokens } } : {})
})
