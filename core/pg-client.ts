import { Effect } from "effect"
import postgres from "postgres"
import { answerWithin } from "./answer-deadline.ts"
import type { PgMigrationSql } from "./migrate-pg.ts"
import { SharedClient } from "./shared-client.ts"

/**
 * PostgreSQL through postgres.js, a pure-JavaScript client that runs alike on Node, Bun, Deno
 * and in the single executable. BIGINT columns read as bigint, since money is integer nano-USD
 * and passes Number.MAX_SAFE_INTEGER at about nine million dollars.
 *
 * Every wait is bounded: connecting, and each statement (the server cancels it), so a request
 * that needs the database is answered within a bound when the database stalls.
 */
export const connectPostgres = (
  url: string,
  options: { readonly connectTimeoutSeconds?: number; readonly statementTimeoutMs?: number; readonly max?: number } = {}
) =>
  postgres(url, {
    types: { bigint: postgres.BigInt },
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    max: options.max ?? 10,
    connection: { statement_timeout: options.statementTimeoutMs ?? 5_000 },
    onnotice: () => undefined
  })

export type Postgres = ReturnType<typeof connectPostgres>

/**
 * An open client; the URL of a database to open one on (the store then owns and closes it); or
 * a client shared by several stores (see sharedPostgres).
 */
export type PostgresSource = Postgres | string | SharedClient<Postgres>

type PostgresTransaction = postgres.TransactionSql<{ bigint: bigint }>

/** The migration runner's view of a transaction. */
export const pgTransaction = (tx: PostgresTransaction) => ({
  exec: async (statements: string) => void (await tx.unsafe(statements)),
  query: <T>(statement: string, params: ReadonlyArray<unknown> = []) =>
    tx.unsafe(statement, params as Array<postgres.ParameterOrJSON<never>>) as unknown as Promise<Array<T>>
})

export const pgMigrationSql = (sql: Postgres): PgMigrationSql => ({
  transaction: <T>(fn: (tx: ReturnType<typeof pgTransaction>) => Promise<T>) =>
    sql.begin((tx) => fn(pgTransaction(tx))) as Promise<T>
})

/** Error codes (SQLSTATE classes and the client's own) that say the database cannot take work now. */
const UNAVAILABLE = /^(?:08|53|57|25006|ECONN|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|CONNECT_TIMEOUT|CONNECTION_)/

/**
 * A shared store (PostgreSQL, Redis) refused or could not be reached: a passing condition, in
 * words for an operator. Its message names no host and no credential (a URL's password must
 * never reach a log).
 */
export class StoreUnreachable extends Error {
  constructor(readonly reason: string) {
    super(`the shared store cannot be reached (${reason})`)
    this.name = "StoreUnreachable"
  }
}

/** Why the database did not take a statement, when that is the database being unavailable. */
export const databaseRefusal = (error: unknown): StoreUnreachable | undefined => {
  if (error instanceof StoreUnreachable) return error
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : ""
  if (!UNAVAILABLE.test(code)) return undefined
  return new StoreUnreachable(
    code === "57014" ? "a PostgreSQL statement timed out" : code.startsWith("57P") ? "PostgreSQL is shutting down" : `PostgreSQL: ${code}`
  )
}

/**
 * How long the relay waits for PostgreSQL's answer before it gives up on a statement: past the
 * server's own statement timeout, for a server that cannot enforce it (stalled, or a network
 * that drops packets, where a query would otherwise wait for TCP to notice).
 */
export const PG_ANSWER_TIMEOUT_MS = 7_000

/**
 * `answer`, or StoreUnreachable once `ms` pass without it. The statement may still complete
 * afterwards: what is written with this must be safe to write again (a settle names itself).
 */
export const withinBound = <A>(answer: Promise<A>, ms = PG_ANSWER_TIMEOUT_MS): Promise<A> =>
  answerWithin(answer, ms, () => new StoreUnreachable("PostgreSQL did not answer in time"))

/**
 * A statement as an Effect of a port. The ports answer without a typed error, so a failure is
 * a defect: `StoreUnreachable` when the database is away (the relay answers 503, see
 * storeRefusal), else the error itself, which is a bug.
 */
export const query = <A>(run: () => Promise<A>): Effect.Effect<A> =>
  Effect.orDie(Effect.tryPromise({ try: () => withinBound(run()), catch: (error) => databaseRefusal(error) ?? error }))

/**
 * The client of a store: the one given, or one opened on the URL and closed with the store's
 * scope (after the relay's last settle).
 */
export const clientOf = (source: PostgresSource) =>
  typeof source === "string"
    ? Effect.acquireRelease(Effect.sync(() => connectPostgres(source)), (sql) => Effect.promise(() => sql.end({ timeout: 5 })))
    : source instanceof SharedClient
    ? source.use()
    : Effect.succeed(source)

/**
 * One pool on `url` for every store of a relay node, opened when the first of them is built:
 * it connects and runs `prepare` (the migrations) before any store uses it, and says why in
 * words, naming no host or password, when it cannot.
 */
export const sharedPostgres = (url: string, prepare: (sql: Postgres) => Promise<void>) =>
  new SharedClient(
    async () => {
      const sql = connectPostgres(url)
      try {
        // Nodes starting together wait for each other's migrations, within reason.
        await withinBound(prepare(sql), 60_000)
      } catch (error) {
        await sql.end({ timeout: 1 }).catch(() => undefined)
        const refusal = databaseRefusal(error)
        throw refusal === undefined ? error : new StoreUnreachable(`PostgreSQL at DATABASE_URL: ${refusal.reason}`)
      }
      return sql
    },
    (sql) => sql.end({ timeout: 5 })
  )
