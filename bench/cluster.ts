import { startPostgres, startRedis } from "../test/helpers/databases.ts"

/**
 * The `cluster` stack's stores: a throw-away PostgreSQL and Redis on loopback, started by the
 * bench as the tests start them (Debian's packages, installed when missing; no system service).
 * Each relay gets a fresh database, so no run reads another's rows (and its accounts, new ids,
 * meet no other run's rate windows in Redis).
 */
export const startClusterStores = async () => {
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()])
  let databases = 0
  return {
    /** The environment of a relay on a fresh database of these servers. */
    env: async (): Promise<Record<string, string>> => {
      return {
        DATABASE_URL: await postgres.createDatabase(`bench_${++databases}`),
        REDIS_URL: redis.url,
        // Several nodes share one master key; the bench runs one, but the relay asks for it.
        RELAY_MASTER_KEY: "b3".repeat(32)
      }
    },
    stop: () => Promise.all([postgres.stop(), redis.stop()])
  }
}
