import { Effect, Layer } from "effect"
import { type Admission, type Limits, Log, RateWindows, randomBase62, redisCall as call, redisClientOf, type RedisOptions, type RedisSource, type WindowState } from "../../core/index.ts"
import { WINDOW_MS } from "./window.ts"

/**
 * Admits (or only looks, for a peek) in one atomic step, the algorithm of window.ts kept in
 * Redis: the request log is a sorted set of admission times, the tokens are counted per second
 * in a hash, and both expire with the window, so an idle account costs nothing.
 * Answers [verdict, requests in the window, ms until one leaves, tokens in the window, ms until
 * the tokens fit]; verdict 0 looked, 1 admitted, 2 rpm, 3 tpm_exceeded_by_request, 4 tpm.
 */
const ADMIT = `
local now, rpm, tpm, tokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local window = ${WINDOW_MS}
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - window)
local count = redis.call("ZCARD", KEYS[1])
local untilFree = 0
if count > 0 then untilFree = tonumber(redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")[2]) + window - now end
local second = math.floor(now / 1000)
local buckets = redis.call("HGETALL", KEYS[2])
local used, live = 0, {}
for i = 1, #buckets, 2 do
  local s, n = tonumber(buckets[i]), tonumber(buckets[i + 1])
  if s <= second - window / 1000 then redis.call("HDEL", KEYS[2], buckets[i])
  else used = used + n; live[#live + 1] = { s, n } end
end
used = math.max(0, used)
if ARGV[5] ~= "admit" then return { 0, count, untilFree, used, 0 } end
if count >= rpm then return { 2, count, untilFree, used, 0 } end
if tokens > tpm then return { 3, count, untilFree, used, 0 } end
local excess = used + tokens - tpm
if excess > 0 then
  table.sort(live, function(a, b) return a[1] < b[1] end)
  local wait = window
  for _, bucket in ipairs(live) do
    excess = excess - bucket[2]
    if excess <= 0 then wait = (bucket[1] + window / 1000) * 1000 - now; break end
  end
  return { 4, count, untilFree, used, wait }
end
redis.call("ZADD", KEYS[1], now, ARGV[6])
redis.call("HINCRBY", KEYS[2], second, tokens)
redis.call("PEXPIRE", KEYS[1], window)
redis.call("PEXPIRE", KEYS[2], window + 1000)
if count == 0 then untilFree = window end
return { 1, count + 1, untilFree, used + tokens, 0 }
`

/** Puts the tokens really used in place of a ticket's, unless its second has left the window. */
const SETTLE = `
local second, delta = tonumber(ARGV[1]), tonumber(ARGV[2])
if second <= math.floor(tonumber(ARGV[3]) / 1000) - ${WINDOW_MS / 1000} then return 0 end
local counted = redis.call("HGET", KEYS[1], ARGV[1])
if not counted then return 0 end
redis.call("HSET", KEYS[1], ARGV[1], math.max(0, tonumber(counted) + delta))
return 1
`

interface Scripts {
  relayAdmit(requests: string, tokens: string, now: number, rpm: number, tpm: number, wanted: number, mode: string, member: string): Promise<Array<number>>
}

/** The same scripts queued on a pipeline: sent together, in one write and one round trip. */
interface PipelineScripts {
  relayAdmit(requests: string, tokens: string, now: number, rpm: number, tpm: number, wanted: number, mode: string, member: string): PipelineScripts
  relaySettle(tokens: string, second: number, delta: number, now: number): PipelineScripts
  zrem(key: string, member: string): PipelineScripts
  exec(): Promise<Array<[Error | null, unknown]> | null>
}

/**
 * How long a token correction may wait for an admission to ride with before it is sent alone.
 * Until it lands, other nodes count the request's reservation in place of its real tokens.
 */
export const CORRECTION_DELAY_MS = 50

const seconds = (ms: number) => Math.ceil(ms / 1000)

/**
 * Rate windows in Redis, shared by every relay node, so a limit holds across them all. Each
 * call is one script, atomic. `now` is the caller's clock: the nodes' clocks must agree to
 * within a second.
 *
 * A settle's correction (the tokens really used in place of the reservation's), and a release
 * (an admission undone), costs no round trip of its own: it waits, at most CORRECTION_DELAY_MS,
 * for this node's next admission or peek and goes in the same write, before it, so this node
 * never looks at a window without its own corrections; alone, once the delay passes with no
 * admission.
 */
export const redisRateWindows = (source: RedisSource, options: RedisOptions = {}): Layer.Layer<RateWindows, never, Log> =>
  Layer.effect(
    RateWindows,
    Effect.gen(function*() {
      const log = yield* Log
      const redis = yield* redisClientOf(source, log, options)
      redis.defineCommand("relayAdmit", { numberOfKeys: 2, lua: ADMIT })
      redis.defineCommand("relaySettle", { numberOfKeys: 1, lua: SETTLE })
      const scripts = redis as unknown as Scripts
      /** Corrections waiting for the next admission (or the delay), each queuing its commands on a pipeline. */
      let corrections: Array<(pipeline: PipelineScripts) => void> = []
      let alone: ReturnType<typeof setTimeout> | undefined
      const correct = (queue: (pipeline: PipelineScripts) => void) =>
        Effect.sync(() => {
          corrections.push(queue)
          alone ??= setTimeout(sendCorrections, CORRECTION_DELAY_MS)
        })
      /** The corrections waiting, queued on a fresh pipeline (a correction lost while Redis is away leaves the reservation counted). */
      const withCorrections = () => {
        const pipeline = redis.pipeline() as unknown as PipelineScripts
        for (const queue of corrections) queue(pipeline)
        corrections = []
        if (alone !== undefined) clearTimeout(alone)
        alone = undefined
        return pipeline
      }
      const sendCorrections = () => withCorrections().exec().catch(() => undefined)
      // The node stops: what waits goes now (bounded by the command timeout), before the client closes.
      yield* Effect.addFinalizer(() => Effect.promise(async () => {
        if (corrections.length > 0) await sendCorrections()
      }))
      // The braces keep an account's keys on one Redis Cluster node, so one script holds both.
      const keys = (account: string) => [`relay:rate:{${account}}:requests`, `relay:rate:{${account}}:tokens`] as const
      const run = (account: string, limits: Limits, tokens: number, now: number, mode: "admit" | "peek", member = "") => {
        const [requests, counted] = keys(account)
        return call(async () => {
          if (corrections.length === 0) return scripts.relayAdmit(requests, counted, now, limits.rpm, limits.tpm, tokens, mode, member)
          const answers = await withCorrections().relayAdmit(requests, counted, now, limits.rpm, limits.tpm, tokens, mode, member).exec()
          const [error, answer] = answers![answers!.length - 1]!
          if (error !== null) throw error
          return answer as Array<number>
        }, options)
      }
      const stateOf = (limits: Limits, count: number, untilFree: number, used: number): WindowState => ({
        requestsRemaining: Math.max(0, limits.rpm - count),
        resetSeconds: seconds(untilFree),
        tokensRemaining: Math.max(0, limits.tpm - used)
      })
      return RateWindows.of({
        admit: (account, limits, tokens, now) => {
          // The request's entry in the window: unique, so that `release` takes out this one.
          const member = `${now}:${randomBase62(12)}`
          return Effect.map(run(account, limits, tokens, now, "admit", member), ([verdict, count, untilFree, used, wait]): Admission => {
            if (verdict === 1) return { admitted: true, state: stateOf(limits, count!, untilFree!, used!), ticket: { second: Math.floor(now / 1000), tokens, request: member } }
            const state = { ...stateOf(limits, count!, untilFree!, used!), requestsRemaining: 0 }
            if (verdict === 2) return { admitted: false, state, reason: "rpm", retryAfterSeconds: Math.max(1, seconds(untilFree!)) }
            if (verdict === 3) return { admitted: false, state, reason: "tpm_exceeded_by_request", retryAfterSeconds: seconds(WINDOW_MS) }
            return { admitted: false, state, reason: "tpm", retryAfterSeconds: Math.max(1, seconds(wait!)) }
          })
        },
        peek: (account, limits, now) =>
          Effect.map(run(account, limits, 0, now, "peek"), ([, count, untilFree, used]) => stateOf(limits, count!, untilFree!, used!)),
        settle: (account, ticket, actualTokens, now) =>
          correct((pipeline) => pipeline.relaySettle(keys(account)[1], ticket.second, actualTokens - ticket.tokens, now)),
        // Rides with the next admission as a correction does: a refusal waits on no round trip.
        release: (account, ticket, now) => {
          const [requests, counted] = keys(account)
          return correct((pipeline) => pipeline.zrem(requests, ticket.request).relaySettle(counted, ticket.second, -ticket.tokens, now))
        }
      })
    })
  )
