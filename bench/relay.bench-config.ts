import { defineConfig, keys, openai } from "../config/index.ts"

/** The relay under benchmark: key authentication and the openai provider in front of the mock. */
export default defineConfig((env) => ({
  models: [{ id: "bench-model", provider: "openai", kind: "chat", pricing: { input: "1", output: "2" } }],
  plugins: [keys(), openai({ keys: ["sk-bench"], baseUrl: env.get("OPENAI_BASE_URL") })]
}))
