import type { ConfigDeclaration } from "./config/index.ts"

/**
 * The shipped configuration. It reads the environment (SPEC section 2), so a deployment is
 * "set env, start": `OPENAI_API_KEY=sk-a,sk-b` makes a pool of two keys. It takes the plugin
 * factories from its argument instead of importing them, so the same file also configures the
 * single executable when it sits beside it.
 */
export default ((
  { anthropic, auditLog, billing, DEFAULT_MODELS, docs, echo, google, keys, limiter, metrics, openai, RELAY_TIERS, responseStore, stores, tokenizer, vault, webConsole, ...env }
) => {
  // DATABASE_URL and REDIS_URL, when set, put the state in PostgreSQL and Redis for several nodes.
  const state = stores(env)
  return {
    server: { host: "127.0.0.1", port: 8787, drainSeconds: 30 },
    models: DEFAULT_MODELS,
    plugins: [
      keys({ ...state.keys }),
      // Before the limiter: a continued response's earlier turns count in its prompt estimate.
      responseStore({ retentionDays: 30, ...state.responses }),
      tokenizer(),
      limiter({ tiers: RELAY_TIERS, defaultTier: "starter", ...state.limiter }),
      billing({ ...state.billing }),
      vault({ ...state.vault }),
      auditLog({ ...state.auditLog }),
      docs(),
      webConsole({ ...state.console }),
      metrics(),
      openai({ keys: env.list("OPENAI_API_KEY"), baseUrl: env.get("OPENAI_BASE_URL"), ...state.providers }),
      anthropic({ keys: env.list("ANTHROPIC_API_KEY"), baseUrl: env.get("ANTHROPIC_BASE_URL"), ...state.providers }),
      google({ keys: env.list("GEMINI_API_KEY"), baseUrl: env.get("GEMINI_BASE_URL"), ...state.providers }),
      echo()
    ]
  }
}) satisfies ConfigDeclaration
