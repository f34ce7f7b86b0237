import { Effect } from "effect"
import { readerOf, readerResponse } from "./chunk-reader.ts"
import { ByokCredentialMissing, type RelayError } from "./errors.ts"
import { idleLimited } from "./idle-reader.ts"
import { KeyPool } from "./key-pool.ts"
import type { UpstreamCall } from "./plugin.ts"
import type { LogShape, UpstreamHttpShape } from "./services.ts"
import { sendUpstream } from "./upstream.ts"

export interface ProviderCallOptions {
  readonly provider: string
  /** The operator's shared keys. */
  readonly shared: KeyPool
  readonly timeoutMs: number
  /** Longest silence accepted from the upstream within a streamed answer. */
  readonly streamIdleMs?: number
  /** The upstream request for one key. */
  readonly request: (secret: string) => { readonly url: string; readonly init: RequestInit }
}

/**
 * Sends a provider call with the keys it may use: on `/byok/v1` the caller's own credential
 * and nothing else (none stored is a 403, and the shared pool is never touched); otherwise
 * the shared pool, with failover between its keys.
 */
export const sendProviderCall = (
  http: UpstreamHttpShape,
  log: LogShape,
  call: UpstreamCall,
  options: ProviderCallOptions
): Effect.Effect<Response, RelayError> => {
  const { ctx } = call
  if (ctx.byok && ctx.credential === undefined) {
    return Effect.fail(new ByokCredentialMissing({ message: `no stored ${options.provider} credential for this account` }))
  }
  const idleMs = options.streamIdleMs ?? DEFAULT_STREAM_IDLE_MS
  return sendUpstream(http, log, {
    provider: options.provider,
    pool: ctx.byok ? new KeyPool([ctx.credential!]) : options.shared,
    owner: ctx.byok ? "caller" : "shared",
    // Every provider's key failures reach the request, for whoever observes them (metrics).
    failures: ctx.keyFailures,
    timeoutMs: options.timeoutMs,
    request: options.request
  }).pipe(Effect.map((response) => idleWatched(response, idleMs)))
}

/**
 * Five minutes: far above the quiet of a reasoning model between two events (a minute or two
 * at most, and the APIs send pings meanwhile), far below a stalled stream holding a client,
 * two sockets and a reservation for as long as the client waits.
 */
export const DEFAULT_STREAM_IDLE_MS = 300_000

/** A streamed answer whose upstream is cut after `idleMs` of silence; any other answer as it is. */
const idleWatched = (response: Response, idleMs: number): Response => {
  if (!/^text\/event-stream/i.test(response.headers.get("content-type") ?? "")) return response
  const reader = readerOf(response)
  if (reader === undefined) return response
  return readerResponse(idleLimited(reader, idleMs), { status: response.status, headers: response.headers })
}
