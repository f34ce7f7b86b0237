import { Effect } from "effect"
import {
  ByokCredentialMissing,
  definePlugin,
  KeyPool,
  Log,
  sendUpstream,
  UpstreamHttp,
  type UpstreamCall
} from "../../../core/index.ts"

export interface OpenAIOptions {
  /** Shared-pool keys; several spread the load and fail over to each other. */
  readonly keys?: ReadonlyArray<string>
  /** API root including `/v1`; any OpenAI-compatible server (vLLM, Ollama, Groq...) works. */
  readonly baseUrl?: string
  /** Seconds until the upstream's response headers must arrive. */
  readonly timeoutSeconds?: number
  /** Provider name, for a second OpenAI-compatible upstream beside OpenAI itself. */
  readonly name?: string
  /** Model globs routed here when not in the catalog. */
  readonly patterns?: ReadonlyArray<string>
  /** Extra headers for every upstream request (an organization, a gateway token). */
  readonly headers?: Readonly<Record<string, string>>
}

export const OPENAI_PATTERNS = ["gpt-*", "o1*", "o3*", "o4*", "chatgpt-*", "text-embedding-*", "gpt-image-*", "dall-e-*"]

/** The OpenAI provider, also serving any OpenAI-compatible upstream through `baseUrl`. */
export const openai = (options: OpenAIOptions = {}) => {
  const name = options.name ?? "openai"
  return definePlugin(name, () =>
    Effect.gen(function*() {
      const http = yield* UpstreamHttp
      const log = yield* Log
      const shared = new KeyPool(options.keys ?? [])
      const base = (options.baseUrl ?? "https://api.openai.com/v1").replace(/\/+$/, "")
      const timeoutMs = (options.timeoutSeconds ?? 600) * 1000
      const fixedHeaders = { ...options.headers, "content-type": "application/json", accept: "application/json, text/event-stream" }

      const send = (call: UpstreamCall) => {
        if (call.ctx.byok && call.ctx.credential === undefined) {
          return Effect.fail(new ByokCredentialMissing({ message: `no stored ${name} credential for this account` }))
        }
        const pool = call.ctx.byok ? new KeyPool([call.ctx.credential!]) : shared
        return sendUpstream(http, log, {
          provider: name,
          pool,
          owner: call.ctx.byok ? "caller" : "shared",
          timeoutMs,
          failures: call.ctx.keyFailures,
          request: (secret) => ({
            url: `${base}${call.path}`,
            init: { method: "POST", headers: { ...fixedHeaders, authorization: `Bearer ${secret}` }, body: call.body }
          })
        })
      }

      return { provider: { name, patterns: options.patterns ?? OPENAI_PATTERNS, protocols: ["openai"] as const, send } }
    }))
}
