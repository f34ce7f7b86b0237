import { Schema } from "effect"
import { ModelEntry, type Plugin } from "../core/index.ts"

const isPlugin = (u: unknown): u is Plugin =>
  typeof u === "object" && u !== null && typeof (u as Plugin).name === "string" && typeof (u as Plugin).setup === "function"

const PluginValue = Schema.declare(isPlugin, {
  expected: "a plugin, such as keys() or openai({ ... })"
})

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

export const ServerSettings = Schema.Struct({
  host: Schema.optional(Schema.NonEmptyString),
  port: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))),
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** Largest upload accepted by the image edits endpoint, in bytes. */
  maxUploadBytes: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** How long a client may take to send its request line and headers. */
  headersTimeoutSeconds: Schema.optional(Schema.Number.check(Schema.isGreaterThan(0))),
  /** Time any request body is given, and the longest silence accepted within one. */
  bodyTimeoutSeconds: Schema.optional(Schema.Number.check(Schema.isGreaterThan(0))),
  /** The slowest rate a body may arrive at: a body of n bytes gets bodyTimeoutSeconds + n / rate. */
  bodyMinBytesPerSecond: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** How long an idle keep-alive connection is kept open. */
  keepAliveSeconds: Schema.optional(Schema.Number.check(Schema.isGreaterThan(0))),
  /** Client connections open at once; more are answered 429 and closed. */
  maxConnections: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** Bytes of request bodies one relay key may have arriving at once; more are answered 429. */
  maxBodyBytesInFlightPerKey: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** Failed authentications one client address may make in a minute; past them it gets 429 until the minute is over. */
  authFailuresPerMinute: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** How long a shutdown waits for in-flight requests and streams. */
  drainSeconds: Schema.optional(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))),
  /** Bearer token of the admin API; unset turns the admin API off (404). */
  adminKey: Schema.optional(Schema.String),
  /** Browser origins allowed to call the relay (`["*"]` for any); unset turns CORS off. */
  corsOrigins: Schema.optional(Schema.Array(Schema.NonEmptyString))
})

export const RelayConfig = Schema.Struct({
  server: Schema.optional(ServerSettings),
  store: Schema.optional(Schema.Struct({
    /** SQLite file; default `relay.db` in the data directory. */
    path: Schema.optional(Schema.NonEmptyString)
  })),
  tiers: Schema.optional(Schema.Record(Schema.String, Schema.Struct({ rpm: Count, tpm: Count }))),
  /** Tier of accounts created without one. */
  defaultTier: Schema.optional(Schema.NonEmptyString),
  models: Schema.optional(Schema.Array(ModelEntry)),
  /** The plugins, in the order their request steps run. */
  plugins: Schema.Array(PluginValue).check(Schema.isMinLength(1))
})

/** What `relay.config.ts` declares. */
export type RelayConfigInput = Schema.Codec.Encoded<typeof RelayConfig>
