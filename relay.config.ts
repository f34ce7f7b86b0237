import {
  billing,
  defineConfig,
  DEFAULT_MODELS,
  docs,
  echo,
  keys,
  limiter,
  metrics,
  openai,
  RELAY_TIERS,
  tokenizer,
  vault,
  webConsole
} from "./config/index.ts"

/**
 * The shipped configuration. It reads the environment (SPEC section 2), so a deployment is
 * "set env, start": `OPENAI_API_KEY=sk-a,sk-b` makes a pool of two keys.
 */
export default defineConfig((env) => ({
  server: { host: "127.0.0.1", port: 8787, drainSeconds: 30 },
  tiers: RELAY_TIERS,
  defaultTier: "starter",
  models: DEFAULT_MODELS,
  plugins: [
    keys(),
    tokenizer(),
    limiter(),
    billing(),
    vault(),
    docs(),
    webConsole(),
    metrics(),
    openai({ keys: env.list("OPENAI_API_KEY"), baseUrl: env.get("OPENAI_BASE_URL") }),
    echo()
  ]
}))
