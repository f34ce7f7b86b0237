import { Context, Effect } from "effect"
import type { RequestContext } from "../context.ts"
import type { Protocol } from "../endpoint.ts"
import type { RelayError } from "../errors.ts"

export interface UpstreamCall {
  readonly ctx: RequestContext
  readonly protocol: Protocol
  /** Path below the provider's API root, such as `/chat/completions`. */
  readonly path: string
  readonly body: Uint8Array<ArrayBuffer> | string
  /** POST unless given: a stored response is read (GET) or deleted (DELETE) upstream, without a body. */
  readonly method?: "GET" | "DELETE"
  /** The body's content type: JSON, or the client's multipart form for an upload. */
  readonly contentType: string
}

/** A provider adapter: how one upstream is reached. */
export interface ProviderAdapter {
  readonly name: string
  /** Model-name globs (`gpt-*`) that route uncatalogued models to this provider. */
  readonly patterns: ReadonlyArray<string>
  /** The protocols it speaks, preferred first. */
  readonly protocols: ReadonlyArray<Protocol>
  /** Needs no credential at all (the offline echo provider), on BYOK routes neither. */
  readonly keyless?: boolean
  /**
   * Sends the call and answers the upstream's response once its headers arrived (status < 400:
   * failures are typed errors). On `/byok/v1` (`ctx.byok`) it must use `ctx.credential` and
   * nothing else.
   */
  send(call: UpstreamCall): Effect.Effect<Response, RelayError>
}

/**
 * Which adapter serves each provider name. The relay lists the adapters once at start (their
 * model patterns make the catalog) and asks for one by name on every request it dispatches, so
 * `get` is on the request path: an implementation that holds its adapters answers it with
 * `Effect.succeed`, without a fiber of its own.
 */
export interface ProviderRegistryShape {
  /** The adapter serving provider `name`, if this registry holds one (the later one, for a name held twice). */
  readonly get: (name: string) => Effect.Effect<ProviderAdapter | undefined>
  /** Every adapter it holds, in the order their model patterns are tried. */
  readonly list: () => Effect.Effect<ReadonlyArray<ProviderAdapter>>
}

export class ProviderRegistry extends Context.Service<ProviderRegistry, ProviderRegistryShape>()("relay/ProviderRegistry") {}

/**
 * The relay's registry: every plugin's, in config order. Each name is asked of the registry
 * that listed it at start (the last one, when two plugins name the same provider), so a
 * request costs one `get` of one registry however many plugins offer providers.
 */
export const combinedRegistry = (registries: ReadonlyArray<ProviderRegistryShape>): Effect.Effect<ProviderRegistryShape> => {
  const [only, ...others] = registries
  if (only !== undefined && others.length === 0) return Effect.succeed(only)
  const listAll = Effect.forEach(registries, (registry) => Effect.map(registry.list(), (adapters) => ({ registry, adapters })))
  return Effect.map(listAll, (listed) => {
    const owners = new Map<string, ProviderRegistryShape>()
    for (const { registry, adapters } of listed) for (const adapter of adapters) owners.set(adapter.name, registry)
    const none = Effect.succeed(undefined)
    return {
      get: (name) => owners.get(name)?.get(name) ?? none,
      list: () => Effect.map(listAll, (all) => all.flatMap(({ adapters }) => adapters))
    }
  })
}
