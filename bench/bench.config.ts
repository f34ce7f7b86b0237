import type { ConfigDeclaration } from "../config/index.ts"

/**
 * The relay under benchmark, in front of the mock upstream. `BENCH_STACK` picks the plugins, so
 * each one's cost shows: `bare` (the providers alone: no authentication), `keys`, `full`
 * (keys, tokenizer, limiter, billing, vault: the admission stack of the shipped config, on SQLite
 * and memory), or `cluster` (the same on the PostgreSQL and Redis of DATABASE_URL and REDIS_URL,
 * as a node of several). It takes its factories from the config argument, so the single
 * executable runs it too.
 */
export default ((relay) => {
  const stack = relay.get("BENCH_STACK") ?? "full"
  const base = relay.get("BENCH_UPSTREAM")
  const providers = [
    relay.openai({ keys: ["sk-bench"], baseUrl: `${base}/v1` }),
    relay.anthropic({ keys: ["sk-ant-bench"], baseUrl: base })
  ]
  const BENCH_TIERS = { bench: { rpm: 100_000_000, tpm: 1_000_000_000_000 } }
  // The shared stores for `cluster`; SQLite and memory (empty options) otherwise.
  const state = stack === "cluster" ? relay.stores(relay) : { keys: {}, limiter: {}, billing: {}, vault: {} }
  const admission = stack === "bare"
    ? []
    : stack === "keys"
    ? [relay.keys()]
    // Limits far above what the bench sends: it measures the limiter's cost, not its refusals.
    : [relay.keys({ ...state.keys }), relay.tokenizer(), relay.limiter({ tiers: BENCH_TIERS, ...state.limiter }), relay.billing({ ...state.billing }), relay.vault({ ...state.vault })]
  const model = (id: string, provider: string) => ({
    id,
    provider,
    kind: "chat" as const,
    // Above the long stream's 2,000 chunks, each a token.
    maxOutputTokens: 4_000,
    pricing: { input: "1", output: "2" }
  })
  return {
    models: [
      model("bench-model", "openai"),
      model("bench-paced", "openai"),
      model("slow-stream", "openai"),
      model("bench-20", "openai"),
      model("bench-long", "openai"),
      model("claude-bench", "anthropic"),
      model("claude-long", "anthropic")
    ],
    plugins: [...admission, ...providers]
  }
}) satisfies ConfigDeclaration
