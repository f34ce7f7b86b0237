import { join } from "node:path"
import { connectPostgres, type Postgres } from "../../runtime/postgres.ts"
import { startPostgres, startRedis, type TestPostgres, type TestServer } from "./databases.ts"
import { ROOT, type RelayProcess, startRelay } from "./relay.ts"

/** The shipped configuration: a cluster is selected by the environment alone. */
export const SHIPPED_CONFIG = join(ROOT, "relay.config.ts")
/** The shipped configuration with the mock upstream's scripted models: see the file. */
export const CLUSTER_CONFIG = join(ROOT, "test/fixtures/relay.cluster-config.ts")
/** The master key every node shares, so a credential sealed by one is opened by another. */
export const CLUSTER_MASTER_KEY = "a7".repeat(32)

export interface ClusterOptions {
  readonly nodes?: number
  /** The environment of every node, besides the shared stores' (upstreams, for one). */
  readonly env?: Record<string, string | undefined>
  readonly config?: string
}

/**
 * Relay processes under the test runtime on one throw-away PostgreSQL and one Redis, each with a
 * data directory of its own: several nodes behind a load balancer, which `next` plays by handing
 * out the nodes round-robin.
 */
export interface Cluster {
  readonly postgres: TestPostgres
  readonly redis: TestServer
  /** A client of the nodes' database, to read the books as they stand. */
  readonly sql: Postgres
  /** The environment the nodes share (the stores, the master key), for starting another. */
  readonly env: Record<string, string | undefined>
  readonly nodes: Array<RelayProcess>
  /** The next node round-robin, as a load balancer spreads clients. */
  next(): RelayProcess
  /** Starts one more node on the same stores (`env` overrides the shared environment). */
  startNode(env?: Record<string, string | undefined>): Promise<RelayProcess>
  /** Stops every node still running, then the servers. */
  stop(): Promise<void>
}

let databases = 0

export const startCluster = async (options: ClusterOptions = {}): Promise<Cluster> => {
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()])
  const databaseUrl = await postgres.createDatabase(`relay_${process.pid}_${++databases}`)
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    RELAY_MASTER_KEY: CLUSTER_MASTER_KEY,
    ...options.env
  }
  const sql = connectPostgres(databaseUrl, { max: 4 })
  const config = options.config ?? SHIPPED_CONFIG
  const nodes: Array<RelayProcess> = []
  const startNode = async (extra: Record<string, string | undefined> = {}) => {
    const node = await startRelay({ config, env: { ...env, ...extra } })
    nodes.push(node)
    return node
  }
  let turn = 0
  const cluster: Cluster = {
    postgres,
    redis,
    sql,
    env,
    nodes,
    next: () => nodes[turn++ % nodes.length]!,
    startNode,
    async stop() {
      await Promise.all(nodes.map((node) => node.stop()))
      await sql.end({ timeout: 1 })
      await Promise.all([postgres.stop(), redis.stop()])
    }
  }
  try {
    // Together, as a deployment's nodes come up: migrations must hold when nodes start at once.
    await Promise.all(Array.from({ length: options.nodes ?? 3 }, () => startNode()))
  } catch (error) {
    await cluster.stop()
    throw error
  }
  return cluster
}

/** An account's books as PostgreSQL holds them, in nano-USD. */
export interface Books {
  readonly balance: bigint
  readonly reserved: bigint
  /** Credits less charges, from the ledger's entries: what the balance must equal. */
  readonly ledger: bigint
  readonly credits: bigint
  /** The sum of the usage records' costs, and their number. */
  readonly usage: bigint
  readonly records: number
  /** Open reservation rows. */
  readonly holds: number
}

export const booksOf = async (sql: Postgres, account: string): Promise<Books> => {
  const [row] = await sql<Array<Books>>`
    SELECT
      (SELECT balance_nano FROM balances WHERE account_id = ${account}) AS balance,
      (SELECT reserved_nano FROM balances WHERE account_id = ${account}) AS reserved,
      (SELECT COALESCE(SUM(CASE kind WHEN 'credit' THEN amount_nano WHEN 'charge' THEN -amount_nano END), 0)::bigint
        FROM ledger WHERE account_id = ${account}) AS ledger,
      (SELECT COALESCE(SUM(amount_nano), 0)::bigint FROM ledger WHERE account_id = ${account} AND kind = 'credit') AS credits,
      (SELECT COALESCE(SUM(cost_nano), 0)::bigint FROM usage_records WHERE account_id = ${account}) AS usage,
      (SELECT COUNT(*)::int FROM usage_records WHERE account_id = ${account}) AS records,
      (SELECT COUNT(*)::int FROM reservations WHERE account_id = ${account}) AS holds`
  return row!
}
