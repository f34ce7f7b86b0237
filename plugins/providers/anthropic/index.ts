import { Context, Effect, type Layer } from "effect"
import { buildStore, type CoreServices, definePlugin, Fanout, localFanout, Log, sharedKeyPool, sendProviderCall, UpstreamHttp, type UpstreamCall } from "../../../core/index.ts"
import { providerRegistry } from "../registry/index.ts"

export interface AnthropicOptions {
  /** Shared-pool keys; several spread the load and fail over to each other. */
  readonly keys?: ReadonlyArray<string>
  /** How a key put to rest here (rate limited, refused) rests on the other nodes too: this process alone unless given. */
  readonly fanout?: Layer.Layer<Fanout, never, CoreServices>
  /** API root without `/v1` (the relay's paths start with it), as `ANTHROPIC_BASE_URL` is given. */
  readonly baseUrl?: string
  /** Seconds until the upstream's response headers must arrive. */
  readonly timeoutSeconds?: number
  /** Seconds a streamed answer may go without a byte from the upstream before it is cut (default 300). */
  readonly streamIdleSeconds?: number
  /** Provider name, for a second Anthropic-compatible upstream. */
  readonly name?: string
  /** Model globs routed here when not in the catalog. */
  readonly patterns?: ReadonlyArray<string>
}

export const ANTHROPIC_PATTERNS = ["claude-*"]

/** The API version sent when the client named none (an OpenAI client calling a Claude model). */
const ANTHROPIC_VERSION = "2023-06-01"

/**
 * The Anthropic provider. It sends the key as `x-api-key`, the client's own
 * `anthropic-version` (or 2023-06-01), and the client's `anthropic-beta` flags, so a Claude
 * client keeps the API behaviour it asked for.
 */
export const anthropic = (options: AnthropicOptions = {}) => {
  const name = options.name ?? "anthropic"
  return definePlugin(name, () =>
    Effect.gen(function*() {
      const http = yield* UpstreamHttp
      const log = yield* Log
      const shared = yield* sharedKeyPool(name, options.keys ?? [], yield* buildStore(options.fanout ?? localFanout, Context.get(Fanout)))
      const base = (options.baseUrl ?? "https://api.anthropic.com").replace(/\/+$/, "")
      const timeoutMs = (options.timeoutSeconds ?? 600) * 1000

      const send = (call: UpstreamCall) => {
        const client = call.ctx.request.headers
        const beta = client.get("anthropic-beta")
        const headers: Record<string, string> = {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "anthropic-version": client.get("anthropic-version") ?? ANTHROPIC_VERSION,
          ...(beta === null ? {} : { "anthropic-beta": beta })
        }
        return sendProviderCall(http, log, call, {
          provider: name,
          shared,
          timeoutMs,
          ...(options.streamIdleSeconds === undefined ? {} : { streamIdleMs: options.streamIdleSeconds * 1000 }),
          request: (secret) => ({
            url: `${base}${call.path}`,
            init: { method: "POST", headers: { ...headers, "x-api-key": secret }, body: call.body }
          })
        })
      }

      return { providers: providerRegistry([{ name, patterns: options.patterns ?? ANTHROPIC_PATTERNS, protocols: ["anthropic"] as const, send }]) }
    }))
}
