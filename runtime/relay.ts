import { Context, Effect, Exit, Layer, ManagedRuntime, Scope } from "effect"
import {
  BodyBudget,
  Catalog,
  ChargeJournal,
  type ChargeJournalShape,
  chatCompletions,
  countTokens,
  type CoreServices,
  createApp,
  gatherServices,
  type ProvidedContext,
  RateTiers,
  rateTiers,
  Keyring,
  type KeyringShape,
  Log,
  type LogShape,
  messages,
  Operator,
  type OperatorShape,
  embeddings,
  imageEdits,
  imageGenerations,
  Pipeline,
  RequestGate,
  responses,
  type PluginHooks,
  combinedRegistry,
  type ProviderRegistryShape,
  Sql,
  type SqlShape,
  StoreHealth,
  type StoreHealthState,
  StoreScope,
  storeRefusal,
  UpstreamHttp,
  type UpstreamHttpShape
} from "../core/index.ts"
import { ConfigError, errorText, type LoadedConfig } from "../config/index.ts"

/** What each runtime supplies: its SQLite driver, logger, HTTP client and terminal. */
export interface RuntimeServices {
  readonly sql: SqlShape
  readonly log: LogShape
  readonly http: UpstreamHttpShape
  readonly operator: OperatorShape
  readonly keyring: KeyringShape
  /** Whether the store takes writes: its writers report here, `/healthz` reads it. */
  readonly storeHealth: StoreHealthState
  /** Where the serving relay's charges become durable first (beside the store); the command line has none. */
  readonly chargeJournal?: ChargeJournalShape | undefined
}

export interface Relay {
  readonly fetch: (request: Request) => Response | Promise<Response>
  readonly pipeline: Pipeline
  /** Lets requests in until the relay stops; then tells when those inside have their answers. */
  readonly gate: RequestGate
  /** Releases the Effect runtime and closes the store. */
  readonly close: () => Promise<void>
}

/** The plugins of a config, set up in config order on one Effect runtime; nothing started yet. */
export interface PluginSet {
  readonly runtime: ManagedRuntime.ManagedRuntime<CoreServices, never>
  readonly hooks: ReadonlyArray<PluginHooks>
  /** The relay's provider registry: every plugin's, in config order. */
  readonly providers: ProviderRegistryShape
  /** The services the plugins provide, which the admin API, the console and the command line use. */
  readonly services: ProvidedContext
  /** Runs the plugins' stop steps, then releases the runtime and the stores in it. */
  readonly stop: () => Promise<void>
}

/**
 * Sets up each plugin in config order. Serving starts from here, and so does the command line,
 * which uses what the plugins offer on the store without serving or starting anything.
 */
export const setupPlugins = async (config: LoadedConfig, services: RuntimeServices): Promise<PluginSet> => {
  const runtime = ManagedRuntime.make(Layer.mergeAll(
    Layer.succeed(Sql, services.sql),
    Layer.succeed(Log, services.log),
    Layer.succeed(UpstreamHttp, services.http),
    Layer.succeed(Operator, services.operator),
    Layer.succeed(Keyring, services.keyring),
    Layer.succeed(StoreHealth, services.storeHealth),
    services.chargeJournal === undefined ? Layer.empty : Layer.succeed(ChargeJournal, services.chargeJournal),
    // The plugins' stores live until the runtime is disposed, after the last settle and stop.
    Layer.effect(StoreScope, Effect.acquireRelease(Scope.make(), (scope) => Scope.close(scope, Exit.void)))
  ))
  const hooks: Array<PluginHooks> = []
  // Plugins hold the registry from their setup on (an Effect of it may be made then), and it
  // answers once every plugin is set up.
  let registry: ProviderRegistryShape | undefined
  const unready = Effect.die(new Error("the provider registry is asked before every plugin is set up"))
  const providers: ProviderRegistryShape = {
    get: (name) => Effect.suspend(() => (registry === undefined ? unready : registry.get(name))),
    list: () => Effect.suspend(() => (registry === undefined ? unready : registry.list()))
  }
  // A relay without a limiter still has tiers to put accounts on: the config's own.
  const defaults = Context.make(RateTiers, rateTiers(config.tiers, config.defaultTier))
  let provided: ProvidedContext = defaults
  const endpoints = () => hooks.flatMap((h) => h.endpoints ?? [])
  const info = { models: config.models, tiers: config.tiers, defaultTier: config.defaultTier, providers, services: () => provided, endpoints }
  for (const [index, plugin] of config.plugins.entries()) {
    try {
      hooks.push(await runtime.runPromise(plugin.setup(info)))
    } catch (error) {
      // A store away at start is the deployment's, not the config's: say so, not "invalid".
      const refusal = storeRefusal(error)
      if (refusal !== undefined) throw new ConfigError(`plugins[${index}] (${plugin.name}) cannot start: ${refusal}`)
      // Otherwise most often an option of the wrong type, which no type checker saw in a config file.
      throw new ConfigError(`config is invalid at plugins[${index}] (${plugin.name}): its setup failed: ${errorText(error)}`)
    }
  }
  try {
    provided = gatherServices(hooks.map((h, i) => ({ plugin: config.plugins[i]!.name, services: h.services ?? Context.empty() })), defaults)
  } catch (error) {
    await runtime.dispose()
    throw new ConfigError(`config is invalid at plugins: ${errorText(error)}`)
  }
  registry = await runtime.runPromise(combinedRegistry(hooks.flatMap((h) => (h.providers ? [h.providers] : []))))
  const stop = async () => {
    for (const h of hooks) if (h.stop) await runtime.runPromise(h.stop)
    await runtime.dispose()
  }
  return { runtime, hooks, providers: registry, services: provided, stop }
}

/**
 * Builds the relay from a loaded config, the same way on every runtime: set up each plugin in
 * config order, build the catalog from their provider patterns, then run their start steps
 * (the first-run bootstrap among them).
 */
export const buildRelay = async (config: LoadedConfig, services: RuntimeServices): Promise<Relay> => {
  const { runtime, hooks, providers, services: provided, stop } = await setupPlugins(config, services)

  if (config.deprecation !== undefined) services.log.warn({}, config.deprecation)
  const adapters = await runtime.runPromise(providers.list())
  const catalog = new Catalog(config.models, adapters)
  const configured = new Set(adapters.map((p) => p.name))
  const unserved = config.models.filter((model) => !configured.has(model.provider)).map((model) => model.id)
  if (unserved.length > 0) {
    services.log.warn({ models: unserved }, "these catalog models have no configured provider; requests for them answer 404")
  }

  const bodyPace = { timeoutMs: config.server.bodyTimeoutSeconds * 1000, minBytesPerSecond: config.server.bodyMinBytesPerSecond }
  const pipeline = new Pipeline({
    runtime,
    plugins: hooks,
    catalog,
    providers,
    log: services.log,
    maxBodyBytes: config.server.maxBodyBytes,
    maxUploadBytes: config.server.maxUploadBytes,
    bodyPace,
    bodyBudget: new BodyBudget(config.server.maxBodyBytesInFlightPerKey)
  })
  const probe = services.sql.prepare("SELECT 1 AS ok")
  const gate = new RequestGate()
  const app = createApp({
    pipeline,
    plugins: hooks,
    services: provided,
    endpoints: [chatCompletions, messages, countTokens, embeddings, imageGenerations, imageEdits, responses, ...hooks.flatMap((h) => h.endpoints ?? [])],
    catalog,
    providers: adapters.map((p) => p.name),
    adminKey: config.server.adminKey,
    corsOrigins: config.server.corsOrigins,
    maxBodyBytes: config.server.maxBodyBytes,
    bodyPace,
    authFailuresPerMinute: config.server.authFailuresPerMinute,
    log: services.log,
    gate,
    unhealthy: () => {
      if (!services.storeHealth.writable) return `the store refuses writes: ${services.storeHealth.reason}`
      try {
        return probe.get() === undefined ? "the store does not answer" : undefined
      } catch {
        return "the store does not answer"
      }
    }
  })

  for (const h of hooks) if (h.start) await runtime.runPromise(Effect.provideContext(h.start, provided))

  return {
    fetch: app.fetch,
    pipeline,
    gate,
    close: async () => {
      await stop()
      services.sql.close()
    }
  }
}

/** How long requests cut at the end of the drain have to settle: an abort and a write each. */
const CUT_SETTLE_MS = 5_000

/**
 * Lets in-flight requests and streams finish (up to `drainSeconds`), cuts what is left, and
 * closes the relay once every request has settled.
 */
export const drainAndClose = async (relay: Relay, drainSeconds: number, log: LogShape, cut: () => void): Promise<void> => {
  relay.gate.close()
  const pending = relay.pipeline.pending
  if (pending > 0) log.info({ pending }, "draining in-flight requests")
  const deadline = Date.now() + drainSeconds * 1000
  // Requests inside the gate first (an admin call, a request still reading its body), then
  // those the pipeline has yet to settle (streams among them).
  const drained = (await relay.gate.idle(drainSeconds * 1000)) && (await relay.pipeline.drain(Math.max(0, deadline - Date.now())))
  if (!drained) {
    log.warn({ pending: relay.pipeline.pending }, "drain time is up; cutting the requests still open")
    // Each request cut settles as its client gone: its record written, a stream charged for
    // what it delivered, before the store closes.
    cut()
    if (!(await relay.pipeline.drain(CUT_SETTLE_MS))) log.error({ pending: relay.pipeline.pending }, "requests still open after the cut; closing without them")
  }
  await relay.close()
}

