import { Context, Effect, type Layer } from "effect"
import { buildStore, type CoreServices, definePlugin, Fanout, localFanout, Log, sharedKeyPool, type Protocol, sendProviderCall, UpstreamHttp, type UpstreamCall } from "../../../core/index.ts"
import { providerRegistry } from "../registry/index.ts"

export interface OpenAIOptions {
  /** Shared-pool keys; several spread the load and fail over to each other. */
  readonly keys?: ReadonlyArray<string>
  /** How a key put to rest here (rate limited, refused) rests on the other nodes too: this process alone unless given. */
  readonly fanout?: Layer.Layer<Fanout, never, CoreServices>
  /** API root including `/v1`; any OpenAI-compatible server (vLLM, Ollama, Groq...) works. */
  readonly baseUrl?: string
  /** Seconds until the upstream's response headers must arrive. */
  readonly timeoutSeconds?: number
  /** Seconds a streamed answer may go without a byte from the upstream before it is cut (default 300). */
  readonly streamIdleSeconds?: number
  /** Provider name, for a second OpenAI-compatible upstream beside OpenAI itself. */
  readonly name?: string
  /** Model globs routed here when not in the catalog. */
  readonly patterns?: ReadonlyArray<string>
  /**
   * Whether the upstream serves OpenAI's Responses API (`/responses`): OpenAI does, so Responses
   * requests pass through; most OpenAI-compatible servers only speak chat completions, and
   * `false` has the relay translate Responses requests into those.
   */
  readonly responses?: boolean
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
      const shared = yield* sharedKeyPool(name, options.keys ?? [], yield* buildStore(options.fanout ?? localFanout, Context.get(Fanout)))
      const base = (options.baseUrl ?? "https://api.openai.com/v1").replace(/\/+$/, "")
      const timeoutMs = (options.timeoutSeconds ?? 600) * 1000
      const fixedHeaders = { ...options.headers, accept: "application/json, text/event-stream" }

      const send = (call: UpstreamCall) =>
        sendProviderCall(http, log, call, {
          provider: name,
          shared,
          timeoutMs,
          ...(options.streamIdleSeconds === undefined ? {} : { streamIdleMs: options.streamIdleSeconds * 1000 }),
          request: (secret) => ({
            url: `${base}${call.path}`,
            init: call.method === undefined
              ? {
                method: "POST",
                headers: { ...fixedHeaders, "content-type": call.contentType, authorization: `Bearer ${secret}` },
                body: call.body
              }
              : { method: call.method, headers: { ...fixedHeaders, authorization: `Bearer ${secret}` } }
          })
        })
      const protocols: ReadonlyArray<Protocol> = options.responses === false ? ["openai"] : ["openai-responses", "openai"]

      return { providers: providerRegistry([{ name, patterns: options.patterns ?? OPENAI_PATTERNS, protocols, send }]) }
    }))
}
