import type { ConfigDeclaration } from "./index.ts"

/**
 * RocketAIRoom Chat API: `POST /v1/chat` with the house models and plans of its product page.
 * Start it with `RELAY_CONFIG=config/rocketairoom.config.ts npm start`.
 *
 * The house models are aliases: set `upstream` (and `provider`) to the model the operator puts
 * behind each. Their flat per-1K prices are the same per-1M prices on input and output:
 * $0.0004/1K is $0.40 per 1M tokens. `max_tokens` above a model's cap is a 400 on /v1/chat.
 * It takes the plugin factories from its argument, so it also configures the single executable.
 */
const HOUSE_MODELS = [
  { id: "rocket-1", provider: "openai", upstream: "gpt-4o-mini", maxOutputTokens: 4_096, price: "0.40" },
  { id: "rocket-1-turbo", provider: "openai", upstream: "gpt-4.1-mini", maxOutputTokens: 4_096, price: "0.70" },
  { id: "rocket-1-pro", provider: "openai", upstream: "gpt-5.5", maxOutputTokens: 8_192, price: "1.20" }
]

export default (({ anthropic, auditLog, billing, echo, keys, limiter, openai, rocketAIRoom, stores, tokenizer, vault, ...env }) => {
  // DATABASE_URL and REDIS_URL, when set, put the state in PostgreSQL and Redis for several nodes.
  const state = stores(env)
  return {
    server: { host: "127.0.0.1", port: 8787 },
    models: HOUSE_MODELS.map(({ price, ...model }) => ({
      ...model,
      kind: "chat" as const,
      contextWindow: 128_000,
      pricing: { input: price, cachedInput: price, output: price }
    })),
    plugins: [
      keys({ ...state.keys }),
      tokenizer(),
      limiter({
        // Enterprise is "custom" on the product page: these are its defaults, and each enterprise
        // account gets its own rpm/tpm through PATCH /admin/accounts/{id}.
        tiers: {
          starter: { rpm: 25, tpm: 12_000 },
          pro: { rpm: 80, tpm: 60_000 },
          enterprise: { rpm: 1_000, tpm: 1_000_000 }
        },
        defaultTier: "starter",
        ...state.limiter
      }),
      billing({ ...state.billing }),
      vault({ ...state.vault }),
      auditLog({ ...state.auditLog }),
      rocketAIRoom(),
      openai({ keys: env.list("OPENAI_API_KEY"), baseUrl: env.get("OPENAI_BASE_URL"), ...state.providers }),
      anthropic({ keys: env.list("ANTHROPIC_API_KEY"), baseUrl: env.get("ANTHROPIC_BASE_URL"), ...state.providers }),
      echo()
    ]
  }
}) satisfies ConfigDeclaration
