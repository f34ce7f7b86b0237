import { Effect } from "effect"
import { ByokCredentialMissing, type RelayError } from "./errors.ts"
import { KeyPool } from "./key-pool.ts"
import type { UpstreamCall } from "./plugin.ts"
import type { LogShape, UpstreamHttpShape } from "./services.ts"
import { sendUpstream } from "./upstream.ts"

export interface ProviderCallOptions {
  readonly provider: string
  /** The operator's shared keys. */
  readonly shared: KeyPool
  readonly timeoutMs: number
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
  return sendUpstream(http, log, {
    provider: options.provider,
    pool: ctx.byok ? new KeyPool([ctx.credential!]) : options.shared,
    owner: ctx.byok ? "caller" : "shared",
    // Every provider's key failures reach the request, for whoever observes them (metrics).
    failures: ctx.keyFailures,
    timeoutMs: options.timeoutMs,
    request: options.request
  })
}
