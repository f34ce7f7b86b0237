import { billing, defineConfig, keys, limiter, openai, tokenizer, vault } from "../config/index.ts"

/**
 * The relay under benchmark, in front of the mock upstream. `BENCH_STACK` picks the plugins, so
 * each one's cost shows: `bare` (the provider alone: no authentication), `keys`, or `full`
 * (keys, tokenizer, limiter, billing, vault: what the shipped config runs).
 */
export default defineConfig((env) => {
  const stack = env.get("BENCH_STACK") ?? "full"
  const provider = openai({ keys: ["sk-bench"], baseUrl: env.get("OPENAI_BASE_URL") })
  const plugins = stack === "bare"
    ? [provider]
    : stack === "keys"
    ? [keys(), provider]
    : [keys(), tokenizer(), limiter(), billing(), vault(), provider]
  return {
    // Limits far above what the bench sends: it measures the limiter's cost, not its refusals.
    tiers: { bench: { rpm: 100_000_000, tpm: 1_000_000_000_000 } },
    models: ["bench-model", "bench-paced", "slow-stream"].map((id) => ({
      id,
      provider: "openai",
      kind: "chat" as const,
      maxOutputTokens: 1_000,
      pricing: { input: "1", output: "2" }
    })),
    plugins
  }
})
