import { Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { PG_SCHEMAS } from "../../config/index.ts"
import { connectPostgres, migratePg, type Postgres, randomBase62 } from "../../core/index.ts"
import { postgresAuditLog } from "../../plugins/audit-log/index.ts"
import { postgresBilling } from "../../plugins/billing/index.ts"
import { postgresConsoleSessions } from "../../plugins/console/index.ts"
import { postgresAccounts } from "../../plugins/keys/index.ts"
import { postgresAccountLimits, redisRateWindows } from "../../plugins/limiter/index.ts"
import { postgresResponses } from "../../plugins/responses/index.ts"
import { postgresCredentials } from "../../plugins/vault/index.ts"
import { pgMigrationSql } from "../../runtime/postgres.ts"
import { IMPLEMENTATIONS, type Implementations } from "./suites.ts"

/**
 * The implementations several relay nodes share, PostgreSQL for accounts, money,
 * credentials, per-account limits, console sessions and stored responses, and Redis for rate windows, on the servers `servers` names
 * once they run (its PostgreSQL URL names a database the client may create databases from).
 * Every case gets a fresh, migrated database and an empty Redis.
 */
export const networkedImplementations = (servers: () => { readonly postgres: string; readonly redis: string }) => {
  const clients: Array<Postgres> = []
  let connected: { readonly admin: Postgres; readonly redis: Redis } | undefined
  // Opened at the first case: the suites are listed before the servers start.
  const connect = () => {
    if (connected === undefined) {
      const admin = connectPostgres(servers().postgres)
      clients.push(admin)
      connected = { admin, redis: new Redis(servers().redis) }
    }
    return connected
  }

  const freshDatabase = async (): Promise<Postgres> => {
    const name = `contract_${randomBase62(12).toLowerCase()}`
    await connect().admin.unsafe(`CREATE DATABASE ${name}`)
    const url = new URL(servers().postgres)
    url.pathname = `/${name}`
    const sql = connectPostgres(url.href)
    clients.push(sql)
    await migratePg(pgMigrationSql(sql), PG_SCHEMAS)
    return sql
  }

  /** A Layer that builds `make`'s store on a fresh database each time it is built. */
  const onFreshDatabase = <I, R>(make: (sql: Postgres) => Layer.Layer<I, never, R>): Layer.Layer<I, never, R> =>
    Layer.unwrap(Effect.map(Effect.promise(freshDatabase), make))

  const implementations: Implementations = {
    ...IMPLEMENTATIONS.shipped,
    accounts: onFreshDatabase(postgresAccounts),
    billing: onFreshDatabase((sql) => postgresBilling(sql)),
    credentials: onFreshDatabase(postgresCredentials),
    accountLimits: onFreshDatabase(postgresAccountLimits),
    storedResponses: onFreshDatabase(postgresResponses),
    consoleSessions: (clock) =>
      onFreshDatabase((sql) => postgresConsoleSessions(sql, { ttlMs: 10_000, anonymousTtlMs: 1_000, maxSessions: 100, maxSignedOutPerAddress: 32, now: clock.now })),
    auditLog: onFreshDatabase(postgresAuditLog),
    rateWindows: Layer.unwrap(Effect.promise(async () => {
      const { redis } = connect()
      await redis.flushdb()
      return redisRateWindows(redis)
    }))
  }

  return {
    implementations,
    close: async () => {
      await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })))
      connected?.redis.disconnect()
    }
  }
}
