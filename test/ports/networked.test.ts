import { after, before, describe, it } from "node:test"
import { Effect, Layer } from "effect"
import { PG_SCHEMAS } from "../../config/index.ts"
import { migratePg } from "../../core/index.ts"
import { postgresBilling } from "../../plugins/billing/index.ts"
import { postgresAccounts } from "../../plugins/keys/index.ts"
import { postgresCredentials } from "../../plugins/vault/index.ts"
import { openNodeStore } from "../../runtime/node-store.ts"
import { connectPostgres, pgMigrationSql, type Postgres } from "../../runtime/postgres.ts"
import { startPostgres, type TestPostgres } from "../helpers/databases.ts"
import { IMPLEMENTATIONS, type Implementations, portSuites } from "./suites.ts"

/**
 * Each port's contract against the implementations several relay nodes share: PostgreSQL for
 * accounts, money and credentials, Redis for rate windows. The servers are throw-away ones
 * started once; every case gets a fresh, migrated database and an empty Redis.
 */
let postgres: TestPostgres
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

const networked: Implementations = {
  ...IMPLEMENTATIONS.shipped,
  accounts: onFreshDatabase(postgresAccounts),
  billing: onFreshDatabase((sql) => postgresBilling(sql)),
  credentials: onFreshDatabase(postgresCredentials)
}

before(async () => {
  postgres = await startPostgres()
})

after(async () => {
  await Promise.all(clients.map((sql) => sql.end({ timeout: 1 })))
  await postgres.stop()
})

for (const suite of portSuites(networked, () => openNodeStore(":memory:")).filter((s) => ["Accounts", "Credentials", "Ledger and UsageRecords"].includes(s.name))) {
  describe(`${suite.name} port (PostgreSQL and Redis)`, () => {
    for (const contractCase of suite.cases) it(contractCase.name, contractCase.run)
  })
}
