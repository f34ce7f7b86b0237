import type { Context, Effect } from "effect"
import type { Context as HonoContext, Hono, MiddlewareHandler } from "hono"
import type { ModelEntry } from "./catalog.ts"
import type { Endpoint } from "./endpoint.ts"
import type { AdmittedRequest, Caller, Outcome, RequestContext, Surface } from "./context.ts"
import type { RelayError } from "./errors.ts"
import type { ManagementServices, ProvidedContext, RateTiers } from "./management.ts"
import type { RateTier } from "./ports/rate-windows.ts"
import type { CoreServices } from "./services.ts"
import type { ProviderRegistryShape } from "./ports/provider-registry.ts"
import type { TokenCountingShape } from "./ports/token-counting.ts"

export type { ProviderAdapter, UpstreamCall } from "./ports/provider-registry.ts"

export type { RateTier } from "./ports/rate-windows.ts"

/** What a plugin learns about the relay it is part of when it is set up. */
export interface RelayInfo {
  /** The relay's provider registry: every plugin's adapters, to be asked once every plugin is set up. */
  readonly providers: ProviderRegistryShape
  readonly models: ReadonlyArray<ModelEntry>
  /**
   * The config's top-level tiers (or the relay's defaults): a config of an earlier shape. The
   * limiter's own `tiers` option is where they belong now.
   */
  readonly tiers: Readonly<Record<string, RateTier>>
  readonly defaultTier: string
  /**
   * The services every plugin provides (RateTiers among them, the limiter's or the config's);
   * complete once every plugin is set up, so read it when used, not at setup.
   */
  readonly services: () => ProvidedContext
  /** The proxied endpoints the plugins contribute; complete once every plugin is set up. */
  readonly endpoints: () => ReadonlyArray<Endpoint>
}

/**
 * Watches requests without taking part in them (metrics). Called synchronously; it must be
 * cheap and must not throw.
 */
export interface RequestObserver {
  /** A streamed response has started towards the client; `settled` follows when it ends. */
  readonly streamOpened?: (ctx: RequestContext) => void
  /**
   * Once per request, after every settle hook ran: what they recorded (`ctx.charged`) is
   * there to read.
   */
  readonly settled: (ctx: RequestContext, outcome: Outcome) => void
}

/** Helpers for plugins that add HTTP routes. */
export interface RouteKit {
  /**
   * Runs an effect on the services the plugins provide (AccountDirectory, Balances, UsageHistory,
   * CredentialVault, RateTiers): a route reaches state through them. Its failure comes back as
   * the value, to answer with. A service no configured plugin provides is read with
   * `Effect.serviceOption`.
   */
  readonly run: <A, E>(effect: Effect.Effect<A, E, ManagementServices>) => Promise<A | E>
  /** Runs an effect as `run` does and answers its value as JSON (200 unless given), or its refusal. */
  readonly respond: <A, E extends RelayError>(c: HonoContext, effect: Effect.Effect<A, E, ManagementServices>, status?: 200 | 201) => Promise<Response>
  /** Guards admin routes: 404 when no admin key is configured, 401 for a wrong one. */
  readonly requireAdmin: MiddlewareHandler
  /** An error response in the given surface's shape. */
  readonly errorResponse: (c: HonoContext, error: RelayError, surface?: Surface) => Response
  /** The JSON object body of a request (`{}` when empty), or an error to answer with. */
  readonly readJson: (c: HonoContext) => Promise<Record<string, unknown> | RelayError>
  /** Who calls a non-proxied route (the account API), by the authenticating plugins. */
  readonly authenticate: (c: HonoContext) => Promise<Caller | RelayError>
  /**
   * Who calls a proxied route a plugin answers itself (a stored response), with the headers
   * every proxied answer carries (the caller's rate-limit state), not counted against it.
   */
  readonly authenticateProxied: (c: HonoContext) => Promise<{ readonly caller: Caller; readonly headers: Headers } | RelayError>
  /** Whether `secret` is the admin key (false when none is configured): a sign-in form's check. */
  readonly isAdminKey: (secret: string) => boolean
  /**
   * Counts a failed sign-in against the client's address, for a route that does not answer it
   * with a 401 (those are counted already); past the limit the address is refused for a while.
   */
  readonly authFailed: (c: HonoContext) => void
  /**
   * Names the account a state change touched when neither its path nor its answer does (a key
   * revoked by its id, answered with 204), so the audit log files it under that account.
   */
  readonly auditAccount: (c: HonoContext, accountId: string) => void
}

/**
 * What a plugin does, produced once at start-up by its setup. Every field is optional.
 * Request steps run in config order; settle hooks run in reverse config order.
 */
export interface PluginHooks {
  /** Says who is calling (sets `ctx.caller`); runs before the model is resolved. */
  readonly authenticate?: (ctx: RequestContext) => Effect.Effect<void, RelayError>
  /**
   * Admits or refuses a known caller's request once its model is resolved and its prompt
   * counted (limits, balance, credential). A request no plugin authenticated (a relay without
   * an authenticating plugin) is not judged here: there is nobody to count it against.
   */
  readonly admit?: (ctx: AdmittedRequest) => Effect.Effect<void, RelayError>
  /**
   * Adds its headers to an answer given to a known caller without admitting the request: a
   * refusal before admission (a malformed body, an unknown model) or the model list. The
   * limiter tells the caller its rate-limit state this way.
   */
  readonly annotate?: (ctx: RequestContext) => Effect.Effect<void>
  /**
   * Runs exactly once for every request that entered the pipeline, whatever its end: success,
   * an error (also one raised before this plugin's own step ran), or the client going away.
   * It ends once what it records is durable: the end of a successful answer waits for it. It
   * fails (`StoreUnavailable`) when the store cannot take the record now; the answer's end is
   * then withheld from the client, while the plugin keeps the record and writes it later.
   */
  readonly settle?: (ctx: RequestContext, outcome: Outcome) => Effect.Effect<void, RelayError>
  /** The ProviderRegistry port: the upstreams it serves (a provider plugin's adapter). */
  readonly providers?: ProviderRegistryShape
  /** Proxied endpoints it adds to the core's (under `/v1` and `/byok/v1`), through the whole pipeline. */
  readonly endpoints?: ReadonlyArray<Endpoint>
  readonly routes?: (app: Hono, kit: RouteKit) => void
  /**
   * The services it provides to the admin API, the console, the command line and other plugins'
   * routes (the keys plugin provides AccountDirectory, billing Balances and UsageHistory). Each
   * service has one provider: two plugins providing the same one stop the relay at start.
   */
  readonly services?: Context.Context<never>
  /** The TokenCounting port, for admission estimates; the first plugin that offers one is used. */
  readonly tokenCounting?: TokenCountingShape
  /** Watches every request (metrics). */
  readonly observe?: RequestObserver
  /** Runs after every plugin is set up (the first-run bootstrap). */
  readonly start?: Effect.Effect<void, never, CoreServices | RateTiers>
  /** Runs when the relay closes, after the last request settled and before the store closes. */
  readonly stop?: Effect.Effect<void, never, CoreServices>
}

export interface Plugin {
  readonly name: string
  readonly setup: (info: RelayInfo) => Effect.Effect<PluginHooks, never, CoreServices>
}

/** Declares a plugin; the value goes into the `plugins` list of `relay.config.ts`. */
export const definePlugin = (
  name: string,
  setup: (info: RelayInfo) => Effect.Effect<PluginHooks, never, CoreServices>
): Plugin => ({ name, setup })
