import { after, before, describe, it } from "node:test"
import { Effect, Layer } from "effect"
import { Redis } from "ioredis"
import { PG_SCHEMAS } from "../../config/index.ts"
import { migratePg } from "../../core/index.ts"
import { postgresBilling } from "../../plugins/billing/index.ts"
import { postgresAccounts } from "../../plugins/keys/index.ts"
import { redisRateWindows } from "../../plugins/limiter/index.ts"
import { postgresCredentials } from "../../plugins/vault/index.ts"
import { openNodeStore } from "../../runtime/node-store.ts"
import { connectPostgres, pgMigrationSql, type Postgres } from "../../runtime/postgres.ts"
import { startPostgres, startRedis, type TestPostgres, type TestServer } from "../helpers/databases.ts"
import { IMPLEMENTATIONS, type Implementations, portSuites } from "./suites.ts"

/**
 * Each port's contract against the implementations several relay nodes share: PostgreSQL for
 * accounts, money and credentials, Redis for rate windows. The servers are throw-away ones
 * started once; every case gets a fresh, migrated database and an empty Redis.
 */
let postgres: TestPostgres
let redisServer: TestServer
let redis: Redis
const clients: Array<Postgres> = []
let databases = 0

/** A new database with every plugin's tables, and a client on it. */
const freshDatabase = async (): Promise<Postgres> => {
  const sql = connectPostgres(await postgres.createDatabase(`contract_${++databases}`))
  clients.push(sql)
  await migratePg(pgMigrationSql(sql), PG_SCHEMAS)
  return sql
}

/** A Layer that builds `make`'s store on a fresh database each time it is built. */
const onFreshDatabase = <I, R>(make: (sql: Postgres) => Layer.Layer<I, never, R>): Layer.Layer<I, never, R> =>
  Layer.unwrap(Effect.map(Effect.promise(freshDatabase), make))

/** Rate windows on a Redis emptied each time the Layer is built. */
const onEmptyRedis = Layer.unwrap(Effect.promise(async () => {
  await redis.flushdb()
  return redisRateWindows(redis)
}))

const networked: Implementations = {
  ...IMPLEMENTATIONS.shipped,
  accounts: onFreshDatabase(postgresAccounts),
  billing: onFreshDatabase((sql) => postgresBilling(sql)),
  credentials: onFreshDatabase(postgresCredentials),
  rateWindows: onEmptyRedis
}

before(async () => {
  postgres = await startPostgres()
  redisServer = await startRedis()
  redis = new Redis(redisServer.url)
})

after(async () => {
  await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })))
  redis.disconnect()
  await Promise.all([postgres.stop(), redisServer.stop()])
})

// Console sessions still live in each node's memory: their suite runs in ports.test.ts.
const shared = portSuites(networked, () => openNodeStore(":memory:")).filter((suite) => suite.name !== "ConsoleSessions")

for (const suite of shared) {
  describe(`${suite.name} port (PostgreSQL and Redis)`, () => {
    for (const contractCase of suite.cases) it(contractCase.name, contractCase.run)
  })
}
