import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { fromAnthropicUsage, fromImageUsage, fromOpenAIUsage, MAX_TOKENS } from "../../core/usage.ts"

/** What a broken upstream may report: JSON.parse reads 1e999 as Infinity. */
const ABSURD = JSON.parse('{ "huge": 1e308, "infinite": 1e999, "negative": -40, "fraction": 2.7, "text": "12" }') as Record<string, unknown>

describe("upstream token counts", () => {
  it("are whole numbers from 0 to MAX_TOKENS, whatever the upstream reported", () => {
    const usage = fromOpenAIUsage({
      prompt_tokens: ABSURD.huge,
      completion_tokens: ABSURD.fraction,
      prompt_tokens_details: { cached_tokens: ABSURD.negative, cache_write_tokens: ABSURD.infinite }
    })
    assert.deepEqual(
      [usage?.promptTokens, usage?.completionTokens, usage?.cachedTokens, usage?.cacheWriteTokens],
      [MAX_TOKENS, 2, 0, MAX_TOKENS]
    )
    assert.equal(fromOpenAIUsage({ prompt_tokens: ABSURD.text, completion_tokens: Number.NaN })?.promptTokens, 0)
  })

  it("keep an Anthropic prompt finite when its parts together would overflow", () => {
    const usage = fromAnthropicUsage({
      input_tokens: ABSURD.huge,
      cache_read_input_tokens: ABSURD.huge,
      cache_creation_input_tokens: ABSURD.infinite,
      output_tokens: ABSURD.negative
    })!
    assert.equal(usage.promptTokens, 3 * MAX_TOKENS)
    assert.deepEqual([usage.cachedTokens, usage.cacheWriteTokens, usage.completionTokens], [MAX_TOKENS, MAX_TOKENS, 0])
  })

  it("clamp image counts too", () => {
    const usage = fromImageUsage({ input_tokens: ABSURD.huge, output_tokens: ABSURD.infinite })!
    assert.deepEqual([usage.promptTokens, usage.imageOutputTokens], [MAX_TOKENS, MAX_TOKENS])
  })
})
