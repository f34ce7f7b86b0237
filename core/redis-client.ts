import { Effect } from "effect"
import type { Redis } from "ioredis"
import { answerWithin } from "./answer-deadline.ts"
import { StoreUnreachable } from "./pg-client.ts"
import type { LogShape } from "./services.ts"
import { SharedClient } from "./shared-client.ts"

/**
 * Redis through ioredis, a pure-JavaScript client that runs alike on Node, Bun, Deno and in
 * the single executable, and reconnects by itself.
 */

/** How long a request may wait on Redis, by default: a command not answered by then fails. */
export const REDIS_COMMAND_TIMEOUT_MS = 1_000
const CONNECT_TIMEOUT_MS = 2_000

export interface RedisOptions {
  /** The longest one command may wait for its answer; the request it serves then gets a 503. */
  readonly commandTimeoutMs?: number
}

const boundOf = (options: RedisOptions) => options.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS

/**
 * A client on `url` whose every wait is bounded, reconnecting by itself; it says once when
 * Redis goes away (by the error's code: the message names the host) and once when it is back.
 * A request's command issued while Redis is away waits at most the command timeout (redisCall).
 */
export const connectRedis = async (url: string, log: LogShape, options: RedisOptions = {}): Promise<Redis> => {
  // Loaded when a store first needs Redis: a relay of one node never does, and ioredis costs
  // about 18 MiB of its idle memory.
  const { Redis } = await import("ioredis")
  const redis = new Redis(url, {
    connectTimeout: CONNECT_TIMEOUT_MS,
    // A backstop for commands nobody bounds (fan-out, corrections): a request's command is
    // bounded by redisCall, which does not blame Redis for the relay's own pauses, so this must
    // not fire first.
    commandTimeout: 2 * boundOf(options) + CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    // Reconnects at once, then backs off to a second: recovery needs no operator.
    retryStrategy: (times) => Math.min(times * 50, 1_000)
  })
  let away = false
  redis.on("error", (error: Error & { readonly code?: string }) => {
    if (away) return
    away = true
    log.error({ code: error.code ?? "unknown" }, "Redis cannot be reached: requests that need the rate windows are refused with 503 until it answers again")
  })
  redis.on("ready", () => {
    if (!away) return
    away = false
    log.warn({}, "Redis answers again: rate limits are enforced across nodes")
  })
  return redis
}

/** An open client; the URL of one to open (the store then owns and closes it); or one shared by several stores. */
export type RedisSource = Redis | string | SharedClient<Redis, LogShape>

const quit = (redis: Redis) => redis.quit().then(() => undefined, () => redis.disconnect())

/** The client of a store built on `source`, for as long as the store's scope lasts. */
export const redisClientOf = (source: RedisSource, log: LogShape, options: RedisOptions = {}) =>
  typeof source === "string"
    ? Effect.acquireRelease(Effect.promise(() => connectRedis(source, log, options)), (redis) => Effect.promise(() => quit(redis)))
    : source instanceof SharedClient
    ? source.use(log)
    : Effect.succeed(source)

/**
 * One client on `url` for every store of a relay node. It is opened when the first of them is
 * built, and a relay whose Redis does not answer then refuses to start, saying so.
 */
export const sharedRedis = (url: string, options: RedisOptions = {}) =>
  new SharedClient<Redis, LogShape>(
    async (log) => {
      const redis = await connectRedis(url, log, options)
      try {
        await new Promise<void>((resolve, reject) => {
          if (redis.status === "ready") return resolve()
          const timer = setTimeout(() => reject(new StoreUnreachable("Redis at REDIS_URL did not answer")), CONNECT_TIMEOUT_MS * 2)
          redis.once("ready", () => {
            clearTimeout(timer)
            resolve()
          })
        })
      } catch (error) {
        redis.disconnect()
        throw error
      }
      return redis
    },
    quit
  )

/**
 * A call to Redis as an Effect of a port, answered within the command bound of `options`: a
 * failure is the store being unavailable, naming no host.
 */
export const redisCall = <A>(run: () => Promise<A>, options: RedisOptions): Effect.Effect<A> =>
  Effect.orDie(Effect.tryPromise({ try: () => answerWithin(run(), boundOf(options), unanswered), catch: unanswered }))

const unanswered = () => new StoreUnreachable("Redis did not answer")

export type { Redis } from "ioredis"
