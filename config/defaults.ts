import type { ModelEntry, RateTier } from "../core/index.ts"

/** The relay's rate-limit tiers (SPEC section 4). */
export const RELAY_TIERS: Readonly<Record<string, RateTier>> = {
  starter: { rpm: 60, tpm: 100_000 },
  professional: { rpm: 300, tpm: 500_000 },
  enterprise: { rpm: 1_000, tpm: 2_000_000 }
}

/**
 * The shipped catalog: sell-side prices in USD per 1M tokens, set to the providers' list
 * prices as a starting point for the operator to edit.
 */
export const DEFAULT_MODELS: ReadonlyArray<ModelEntry> = [
  {
    id: "gpt-5.5",
    provider: "openai",
    kind: "chat",
    contextWindow: 400_000,
    maxOutputTokens: 128_000,
    pricing: { input: "1.25", cachedInput: "0.125", output: "10" }
  },
  {
    id: "gpt-4o",
    provider: "openai",
    kind: "chat",
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    pricing: { input: "2.50", cachedInput: "1.25", output: "10" }
  },
  {
    id: "gpt-4o-mini",
    provider: "openai",
    kind: "chat",
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    pricing: { input: "0.15", cachedInput: "0.075", output: "0.60" }
  },
  {
    id: "claude-sonnet-4-6",
    provider: "anthropic",
    kind: "chat",
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    pricing: { input: "3", cachedInput: "0.30", cacheWrite: "3.75", output: "15" }
  },
  {
    id: "claude-haiku-4-5",
    provider: "anthropic",
    kind: "chat",
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    pricing: { input: "1", cachedInput: "0.10", cacheWrite: "1.25", output: "5" }
  },
  {
    id: "gemini-2.5-flash",
    provider: "google",
    kind: "chat",
    contextWindow: 1_048_576,
    maxOutputTokens: 65_536,
    pricing: { input: "0.30", cachedInput: "0.03", output: "2.50" }
  },
  {
    id: "gemini-2.5-pro",
    provider: "google",
    kind: "chat",
    contextWindow: 1_048_576,
    maxOutputTokens: 65_536,
    pricing: { input: "1.25", cachedInput: "0.125", output: "10" }
  },
  {
    id: "text-embedding-3-small",
    provider: "openai",
    kind: "embedding",
    contextWindow: 8_192,
    pricing: { input: "0.02" }
  },
  {
    id: "gpt-image-2",
    provider: "openai",
    kind: "image",
    pricing: { input: "5", cachedInput: "1.25", imageInput: "8", imageCachedInput: "2", imageOutput: "30" }
  },
  {
    id: "echo-1",
    provider: "echo",
    kind: "chat",
    contextWindow: 32_768,
    maxOutputTokens: 4_096,
    pricing: { input: "0", cachedInput: "0", output: "0" }
  },
  {
    id: "echo-1-mini",
    provider: "echo",
    kind: "chat",
    contextWindow: 8_192,
    maxOutputTokens: 1_024,
    pricing: { input: "0", cachedInput: "0", output: "0" }
  }
]
