import { Result, Schema } from "effect"
import { describeSchemaError, type ModelEntry, type Plugin, type RateTier } from "../core/index.ts"
import { RELAY_TIERS } from "./defaults.ts"
import { type ConfigEnv, makeConfigEnv } from "./env.ts"
import * as exported from "./kit.ts"
import { RelayConfig, type RelayConfigInput } from "./schema.ts"

/**
 * What a config declared as a function receives: the environment helpers and everything
 * config/index.ts exports (config/kit.ts: plugin factories, their stores, defaults, core and
 * Effect; and this module's own exports). A config that
 * takes them from here needs no import at all, which is how a config beside the single
 * executable names plugins: the project's modules live inside the executable, not on disk.
 */
export type ConfigKit = ConfigEnv & typeof exported & ReturnType<typeof loading>

/**
 * A config file declares its settings as an object, or as a function of the environment and
 * the plugin factories: `(env) => ...` or `(relay) => ({ plugins: [relay.keys()], ... })`.
 */
export type ConfigDeclaration = RelayConfigInput | ((relay: ConfigKit) => RelayConfigInput)

/** Declares the relay's configuration: the default export of `relay.config.ts`. */
export const defineConfig = (declaration: ConfigDeclaration): ConfigDeclaration => declaration

/** A config with every default filled in, ready to start. */
export interface LoadedConfig {
  readonly server: {
    readonly host: string
    readonly port: number
    readonly maxBodyBytes: number
    readonly maxUploadBytes: number
    readonly drainSeconds: number
    readonly headersTimeoutSeconds: number
    readonly bodyTimeoutSeconds: number
    readonly bodyMinBytesPerSecond: number
    readonly keepAliveSeconds: number
    readonly maxConnections: number
    readonly maxBodyBytesInFlightPerKey: number
    readonly authFailuresPerMinute: number
    readonly adminKey: string | undefined
    readonly corsOrigins: ReadonlyArray<string> | undefined
  }
  readonly storePath: string
  /** The config's top-level tiers, or the relay's defaults: the limiter's own `tiers` option wins. */
  readonly tiers: Readonly<Record<string, RateTier>>
  readonly defaultTier: string
  /**
   * What to tell the operator about a config of an earlier shape that still starts (top-level
   * `tiers`), undefined when there is nothing to say.
   */
  readonly deprecation: string | undefined
  readonly models: ReadonlyArray<ModelEntry>
  readonly plugins: ReadonlyArray<Plugin>
}

/** A config that cannot start the relay; the message names the path at fault. */
export class ConfigError extends Error {
  override readonly name = "ConfigError"
}

/** What went wrong, for a message to the operator: the error's message, without its stack. */
export const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024
/** Image edits take up to 16 images; 64 MiB covers several full-size PNGs. */
const DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024

/** Above the 10,000 idle streams one relay is measured to hold, below a typical 65,536 descriptors (two per stream). */
const DEFAULT_MAX_CONNECTIONS = 16_384
/** Two of the largest uploads at once, and many ordinary bodies. */
const DEFAULT_BODY_BYTES_IN_FLIGHT_PER_KEY = 128 * 1024 * 1024

const duplicate = (values: ReadonlyArray<string>): string | undefined =>
  values.find((value, index) => values.indexOf(value) !== index)

/**
 * Validates a declaration and fills in defaults. `PORT`, `HOST` and `RELAY_ADMIN_KEY` from
 * the environment win over the file, so a deployment is "set env, start".
 */
export const resolveConfig = (
  declaration: unknown,
  vars: Readonly<Record<string, string | undefined>>,
  dataDir: string
): LoadedConfig => {
  const env = makeConfigEnv(vars)
  let declared: unknown
  let port: number
  try {
    declared = typeof declaration === "function" ? declaration({ ...exported, ...loading(), ...env }) : declaration
    port = env.int("PORT", -1)
  } catch (error) {
    // A malformed variable read by the config: a message for the operator, not a stack.
    throw new ConfigError(`config could not be read: ${errorText(error)}`)
  }
  const decoded = Schema.decodeUnknownResult(RelayConfig)(declared)
  if (Result.isFailure(decoded)) {
    const { path, message } = describeSchemaError(decoded.failure)
    throw new ConfigError(`config is invalid at ${path === "" ? "the top level" : path}: ${message}`)
  }
  const config = decoded.success
  if (port === -1) port = config.server?.port ?? 8787
  else if (port > 65535) throw new ConfigError(`environment variable PORT must be a port number (0 to 65535), got ${port}`)
  const tiers = config.tiers ?? RELAY_TIERS
  const defaultTier = config.defaultTier ?? Object.keys(tiers)[0]
  if (defaultTier === undefined || tiers[defaultTier] === undefined) {
    throw new ConfigError(`config is invalid at defaultTier: expected one of the tiers (${Object.keys(tiers).join(", ")})`)
  }
  const models = config.models ?? []
  const model = duplicate(models.map((entry) => entry.id))
  if (model !== undefined) throw new ConfigError(`config is invalid at models: model "${model}" is declared twice`)
  const plugin = duplicate(config.plugins.map((p) => p.name))
  if (plugin !== undefined) throw new ConfigError(`config is invalid at plugins: plugin "${plugin}" is declared twice`)
  return {
    server: {
      host: env.get("HOST") ?? config.server?.host ?? "127.0.0.1",
      port,
      maxBodyBytes: config.server?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      maxUploadBytes: config.server?.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
      drainSeconds: config.server?.drainSeconds ?? 30,
      headersTimeoutSeconds: config.server?.headersTimeoutSeconds ?? 10,
      bodyTimeoutSeconds: config.server?.bodyTimeoutSeconds ?? 10,
      bodyMinBytesPerSecond: config.server?.bodyMinBytesPerSecond ?? 256 * 1024,
      keepAliveSeconds: config.server?.keepAliveSeconds ?? 5,
      maxConnections: config.server?.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      maxBodyBytesInFlightPerKey: config.server?.maxBodyBytesInFlightPerKey ?? DEFAULT_BODY_BYTES_IN_FLIGHT_PER_KEY,
      authFailuresPerMinute: config.server?.authFailuresPerMinute ?? 30,
      adminKey: env.get("RELAY_ADMIN_KEY") ?? config.server?.adminKey,
      corsOrigins: config.server?.corsOrigins
    },
    storePath: config.store?.path ?? `${dataDir}/relay.db`,
    tiers,
    defaultTier,
    deprecation: config.tiers === undefined && config.defaultTier === undefined
      ? undefined
      : "the config's top-level `tiers` and `defaultTier` are deprecated: move them into the limiter's options, `limiter({ tiers, defaultTier })`",
    models,
    plugins: config.plugins
  }
}

/**
 * Imports a config module (TypeScript is fine on every runtime) and resolves it. `compiled` is
 * the module to import instead when the runtime compiled the config ahead (messages still name `url`).
 */
export const loadConfig = async (
  url: URL,
  vars: Readonly<Record<string, string | undefined>>,
  dataDir: string,
  compiled: URL = url
): Promise<LoadedConfig> => {
  let module: { default?: unknown }
  try {
    module = await import(compiled.href)
  } catch (error) {
    throw new ConfigError(`config ${url.pathname} could not be loaded: ${errorText(error)}`)
  }
  if (module.default === undefined) throw new ConfigError(`config ${url.pathname} has no default export; export defineConfig({ ... })`)
  return resolveConfig(module.default, vars, dataDir)
}

/** This module's part of what config/index.ts exports, for a config's argument. */
function loading() {
  return { ConfigError, defineConfig, errorText, loadConfig, resolveConfig }
}
