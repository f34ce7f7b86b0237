import { Context, Effect, type Layer } from "effect"
import {
  buildStore,
  type CoreServices,
  definePlugin,
  type Limits,
  RateLimited,
  type RateTier,
  RateTiers,
  rateTiers,
  RateWindows,
  type RelayInfo,
  type RequestContext,
  StateKey,
  type TokenTicket,
  totalTokens,
  type WindowState
} from "../../core/index.ts"
import { memoryRateWindows } from "./store.ts"

export interface LimiterOptions {
  /**
   * The tiers accounts are put on, by name; the config's top-level `tiers` (an earlier shape),
   * else the relay's defaults, unless given.
   */
  readonly tiers?: Readonly<Record<string, RateTier>>
  /** The tier of an account opened without one: one of `tiers`, the first of them unless given. */
  readonly defaultTier?: string
  /** Whether tokens of BYOK requests count toward TPM (their requests always count toward RPM). */
  readonly byokTokens?: boolean
  /** Output tokens reserved when neither the request nor the catalog caps them. */
  readonly defaultOutputTokens?: number
  /** Where the windows live: the RateWindows port's implementation, in memory on this node unless given. */
  readonly windows?: Layer.Layer<RateWindows, never, CoreServices>
}

export { redisRateWindows } from "./redis.ts"
export { MemoryRateWindows, memoryRateWindows } from "./store.ts"

interface Reservation {
  readonly account: string
  readonly ticket: TokenTicket
  readonly countsTokens: boolean
}

const RESERVATION = new StateKey<Reservation>("limiter/reservation")

const tokensNeeded = (ctx: RequestContext, defaultOutput: number, limits: Limits) => {
  const prompt = ctx.estimatedPromptTokens()
  const output = ctx.outputReservation(defaultOutput)
  const needed = prompt + output.completionTokens + output.imageOutputTokens
  // A request that names no output limit is reserved the model's whole output cap, a worst
  // case: one above the tier's TPM would refuse every such request for ever. It is reserved up
  // to what an empty window holds (settle puts the real count in its place); only a limit the
  // caller asked for can make a request too large for its tier.
  return ctx.outputLimitGiven() ? needed : Math.min(needed, Math.max(limits.tpm, prompt))
}

const setHeaders = (ctx: RequestContext, limits: Limits, state: WindowState) => {
  const headers = ctx.responseHeaders
  headers.set("x-ratelimit-limit", String(limits.rpm))
  headers.set("x-ratelimit-remaining", String(state.requestsRemaining))
  headers.set("x-ratelimit-reset", String(state.resetSeconds))
  headers.set("x-ratelimit-limit-tokens", String(limits.tpm))
  headers.set("x-ratelimit-remaining-tokens", String(state.tokensRemaining))
}

const refusal = (reason: "rpm" | "tpm" | "tpm_exceeded_by_request", limits: Limits, needed: number, retryAfterSeconds: number) => {
  const message = reason === "rpm"
    ? `rate limit reached: ${limits.rpm} requests per minute; retry after ${retryAfterSeconds} s`
    : reason === "tpm"
    ? `token rate limit reached: ${limits.tpm} tokens per minute; retry after ${retryAfterSeconds} s`
    : `this request alone needs about ${needed} tokens (prompt plus max_tokens), more than the ${limits.tpm} tokens per minute of its tier; lower max_tokens or shorten the prompt`
  return new RateLimited({ message, retryAfterSeconds })
}

/** The limiter's tiers: its own, else the config's top-level ones; a default tier it lacks is a config mistake. */
const tiersOf = (options: LimiterOptions, info: RelayInfo) => {
  const table = options.tiers ?? info.tiers
  for (const [name, tier] of Object.entries(table)) {
    for (const field of ["rpm", "tpm"] as const) {
      if (!Number.isSafeInteger(tier?.[field]) || tier[field] < 0) {
        throw new Error(`tiers.${name}.${field}: expected a whole number from 0, got ${JSON.stringify(tier?.[field])}`)
      }
    }
  }
  const defaultTier = options.defaultTier ?? (options.tiers === undefined ? info.defaultTier : Object.keys(table)[0])
  if (defaultTier === undefined || table[defaultTier] === undefined) {
    throw new Error(`defaultTier: expected one of its tiers (${Object.keys(table).join(", ")}), got ${JSON.stringify(defaultTier)}`)
  }
  return rateTiers(table, defaultTier)
}

/**
 * Requests and tokens per minute per account, across all of its keys, on `/v1` and `/byok/v1`
 * alike. Before dispatch it reserves the estimated prompt plus the output allowance; at settle
 * it replaces the reservation with the real usage. Every proxied answer to a known caller
 * carries the X-RateLimit headers: admitted, refused at admission, or refused before it (a bad
 * body, an unknown model) and the model list, which show the windows without counting in them.
 */
export const limiter = (options: LimiterOptions = {}) =>
  definePlugin("limiter", (info) =>
    Effect.gen(function*() {
      const tiers = tiersOf(options, info)
      const windows = yield* buildStore(options.windows ?? memoryRateWindows, Context.get(RateWindows))
      const defaultOutput = options.defaultOutputTokens ?? 4_096
      return {
        services: Context.make(RateTiers, tiers),
        admit: (ctx) => {
          const account = ctx.caller?.account
          // Without an authenticated account there is nobody to count against.
          if (account === undefined) return Effect.void
          const limits = tiers.limitsFor(account)
          const countsTokens = !ctx.byok || options.byokTokens !== false
          const needed = countsTokens ? tokensNeeded(ctx, defaultOutput, limits) : 0
          return Effect.flatMap(windows.admit(account.id, limits, needed, Date.now()), (admission) => {
            setHeaders(ctx, limits, admission.state)
            if (!admission.admitted) return Effect.fail(refusal(admission.reason, limits, needed, admission.retryAfterSeconds))
            const reservation: Reservation = { account: account.id, ticket: admission.ticket, countsTokens }
            ctx.set(RESERVATION, reservation)
            return Effect.void
          })
        },
        annotate: (ctx) => {
          const account = ctx.caller?.account
          // A request refused at admission (by this plugin or one after it) has its headers.
          if (account === undefined || ctx.responseHeaders.has("x-ratelimit-limit")) return Effect.void
          const limits = tiers.limitsFor(account)
          return Effect.map(windows.peek(account.id, limits, Date.now()), (state) => setHeaders(ctx, limits, state))
        },
        settle: (ctx, outcome) => {
          const reservation = ctx.get(RESERVATION)
          if (reservation === undefined) return Effect.void
          const used = reservation.countsTokens && outcome.usage !== undefined ? totalTokens(outcome.usage) : 0
          // The answer's end does not wait for the correction: on Redis it would add a round trip
          // to every answer. Until it lands (at once in memory, a round trip later on Redis) the
          // window counts the request's reservation; one lost while Redis is away leaves that.
          Effect.runFork(Effect.catchCause(windows.settle(reservation.account, reservation.ticket, used, Date.now()), () => Effect.void))
          return Effect.void
        }
      }
    }))
