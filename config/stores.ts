import { type CoreServices, type Fanout, migratePg, pgMigrationSql, REDIS_COMMAND_TIMEOUT_MS, redisFanout, type RedisOptions, sharedPostgres, sharedRedis } from "../core/index.ts"
import type { Layer } from "effect"
import { type AuditLogOptions, postgresAuditLog } from "../plugins/audit-log/index.ts"
import { type BillingOptions, postgresBilling } from "../plugins/billing/index.ts"
import { type ConsoleOptions, postgresConsoleSessions } from "../plugins/console/index.ts"
import { type KeysOptions, postgresAccounts } from "../plugins/keys/index.ts"
import { type LimiterOptions, postgresAccountLimits, redisRateWindows } from "../plugins/limiter/index.ts"
import { postgresResponses, type ResponseStoreOptions } from "../plugins/responses/index.ts"
import { postgresCredentials, type VaultOptions } from "../plugins/vault/index.ts"
import type { ConfigEnv } from "./env.ts"
import { PG_SCHEMAS } from "./pg-schemas.ts"

export interface SharedStoreOptions {
  /** `postgres://...`: accounts, keys, money, usage, BYOK credentials, per-account limits, console sessions, stored responses, the audit log; else `DATABASE_URL`. */
  readonly databaseUrl?: string
  /** `redis://...`: rate windows, and the fan-out of revocations, credential changes, per-account limit changes and key rests; else `REDIS_URL`. */
  readonly redisUrl?: string
  /** The longest a request waits on Redis before it is refused with 503; else `RELAY_REDIS_TIMEOUT_MS`, 1000. */
  readonly redisTimeoutMs?: number
  /**
   * How long a node's open reservations outlive it: a node killed mid-request has its holds
   * freed by the others this long after its last renewal. Else `RELAY_LEASE_SECONDS`, 60.
   */
  readonly leaseSeconds?: number
}

/** Each stateful plugin's store options, spread into its factory: empty on one node (SQLite, memory). */
export interface StoreChoice {
  /** True when several nodes can share these stores (PostgreSQL and Redis). */
  readonly shared: boolean
  readonly keys: Pick<KeysOptions, "store" | "fanout" | "revalidateMs">
  readonly billing: Pick<BillingOptions, "store">
  readonly vault: Pick<VaultOptions, "store" | "fanout">
  readonly limiter: Pick<LimiterOptions, "windows" | "overrides" | "fanout" | "overridesRevalidateMs">
  readonly console: Pick<ConsoleOptions, "sessions" | "cookieSecret">
  readonly responses: Pick<ResponseStoreOptions, "store">
  readonly auditLog: Pick<AuditLogOptions, "store">
  /** For each provider with a shared key pool (openai, anthropic, google): where its key rests are announced. */
  readonly providers: { readonly fanout?: Layer.Layer<Fanout, never, CoreServices> }
}

const ONE_NODE: StoreChoice = { shared: false, keys: {}, billing: {}, vault: {}, limiter: {}, console: {}, responses: {}, auditLog: {}, providers: {} }

/**
 * How long a node trusts a cached key (and an account's rate-limit overrides) before it reads it
 * from PostgreSQL again. Revocations, override changes and
 * account changes reach every node's cache at once over the fan-out, and a node whose
 * subscription broke drops its whole cache when it returns; this bounds only a change whose
 * message was lost without the gap being noticed. Long, so a busy key costs one round trip
 * before dispatch (its reserve) rather than two (a lookup too) every half second.
 */
const SHARED_KEY_REVALIDATE_MS = 30_000

const scheme = (url: string) => /^([a-z]+):\/\//i.exec(url)?.[1]?.toLowerCase()

/**
 * Where the relay keeps its state, chosen by `DATABASE_URL` and `REDIS_URL` (or the same as
 * options): both unset, SQLite in the data directory and this process's memory, for one node;
 * both set, PostgreSQL and Redis, shared by any number of nodes. One of them alone is refused,
 * as is a shared database without a shared `RELAY_MASTER_KEY`: either would run each node on
 * its own limits or keys while looking like one relay.
 *
 *     plugins: [keys({ ...stores.keys }), billing({ ...stores.billing }), ...]
 */
export const stores = (env: ConfigEnv, options: SharedStoreOptions = {}): StoreChoice => {
  const databaseUrl = options.databaseUrl ?? env.get("DATABASE_URL")
  const redisUrl = options.redisUrl ?? env.get("REDIS_URL")
  if (databaseUrl === undefined && redisUrl === undefined) return ONE_NODE
  if (redisUrl === undefined) {
    throw new Error(
      "DATABASE_URL is set without REDIS_URL: several nodes keep their rate windows, revocations and key cooldowns in Redis, and without it each node would enforce limits on its own; set both, or neither for one node on SQLite"
    )
  }
  if (databaseUrl === undefined) {
    throw new Error(
      "REDIS_URL is set without DATABASE_URL: several nodes keep accounts, keys and balances in PostgreSQL, and without it each node would keep its own; set both, or neither for one node on SQLite"
    )
  }
  if (scheme(databaseUrl) !== "postgres" && scheme(databaseUrl) !== "postgresql") throw new Error("DATABASE_URL must be a postgres:// URL")
  if (scheme(redisUrl) !== "redis" && scheme(redisUrl) !== "rediss") throw new Error("REDIS_URL must be a redis:// or rediss:// URL")
  const masterKey = env.get("RELAY_MASTER_KEY")
  if (masterKey === undefined) {
    throw new Error(
      "DATABASE_URL is set without RELAY_MASTER_KEY: every node must seal and open BYOK credentials with the same master key; generate one with `openssl rand -base64 32` and give it to every node"
    )
  }
  const redisOptions: RedisOptions = { commandTimeoutMs: options.redisTimeoutMs ?? env.int("RELAY_REDIS_TIMEOUT_MS", REDIS_COMMAND_TIMEOUT_MS) }
  const leaseMs = (options.leaseSeconds ?? env.int("RELAY_LEASE_SECONDS", 60)) * 1000
  // One pool per node for every store, migrated before the first store uses it.
  const database = sharedPostgres(databaseUrl, (sql) => migratePg(pgMigrationSql(sql), PG_SCHEMAS))
  const redis = sharedRedis(redisUrl, redisOptions)
  // Revocations, credential changes and key rests reach the other nodes over pub/sub, which
  // takes a connection of its own; no request waits on it, so its commands get a longer bound.
  const fanout = redisFanout(redis, sharedRedis(redisUrl, { commandTimeoutMs: 10_000 }), redisOptions)
  return {
    shared: true,
    keys: { store: postgresAccounts(database), fanout, revalidateMs: SHARED_KEY_REVALIDATE_MS },
    billing: { store: postgresBilling(database, { leaseMs }) },
    vault: { store: postgresCredentials(database), fanout },
    limiter: { windows: redisRateWindows(redis, redisOptions), overrides: postgresAccountLimits(database), fanout, overridesRevalidateMs: SHARED_KEY_REVALIDATE_MS },
    // A session made on one node is signed and found on every node.
    console: { sessions: (lifetimes) => postgresConsoleSessions(database, lifetimes), cookieSecret: masterKey },
    responses: { store: postgresResponses(database) },
    auditLog: { store: postgresAuditLog(database) },
    providers: { fanout }
  }
}
