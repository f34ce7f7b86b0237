import type { ConfigDeclaration } from "./config/index.ts"

/**
 * The shipped configuration. It reads the environment (SPEC section 2), so a deployment is
 * "set env, start": `OPENAI_API_KEY=sk-a,sk-b` makes a pool of two keys. It takes the plugin
 * factories from its argument instead of importing them, so the same file also configures the
 * single executable when it sits beside it.
 */
export default (({ DEFAULT_MODELS, echo, keys, openai, RELAY_TIERS, ...env }) => ({
  server: { host: "127.0.0.1", port: 8787, drainSeconds: 30 },
  tiers: RELAY_TIERS,
  defaultTier: "starter",
  models: DEFAULT_MODELS,
  plugins: [
    keys(),
    openai({ keys: env.list("OPENAI_API_KEY"), baseUrl: env.get("OPENAI_BASE_URL") }),
    echo()
  ]
})) satisfies ConfigDeclaration
