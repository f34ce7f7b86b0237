import { Context, Effect, type Layer } from "effect"
import { definePlugin, effectiveLimits, type Limits, RateLimited, RateWindows, type RequestContext, StateKey, type TokenTicket, totalTokens, buildStore, type WindowState } from "../../core/index.ts"
import { memoryRateWindows } from "./store.ts"

export interface LimiterOptions {
  /** Whether tokens of BYOK requests count toward TPM (their requests always count toward RPM). */
  readonly byokTokens?: boolean
  /** Output tokens reserved when neither the request nor the catalog caps them. */
  readonly defaultOutputTokens?: number
  /** Where the windows live: the RateWindows port's implementation, in memory on this node unless given. */
  readonly windows?: Layer.Layer<RateWindows>
}

export { type RedisSource, redisRateWindows } from "./redis.ts"
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
      const windows = yield* buildStore(options.windows ?? memoryRateWindows, Context.get(RateWindows))
      const defaultOutput = options.defaultOutputTokens ?? 4_096
      return {
        admit: (ctx) => {
          const account = ctx.caller.account
          const limits = effectiveLimits(info, account)
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
          const limits = effectiveLimits(info, account)
          return Effect.map(windows.peek(account.id, limits, Date.now()), (state) => setHeaders(ctx, limits, state))
        },
        settle: (ctx, outcome) => {
          const reservation = ctx.get(RESERVATION)
          if (reservation === undefined) return Effect.void
          const used = reservation.countsTokens && outcome.usage !== undefined ? totalTokens(outcome.usage) : 0
          return windows.settle(reservation.account, reservation.ticket, used, Date.now())
        }
      }
    }))
