import { Context, Effect, type Layer } from "effect"
import {
  AccountLimits,
  buildStore,
  type Caller,
  type CoreServices,
  definePlugin,
  Fanout,
  localFanout,
  randomBase62,
  type Limits,
  RateLimited,
  type RateTier,
  RateTiers,
  RateWindows,
  type RelayInfo,
  type RequestContext,
  StateKey,
  type TokenTicket,
  totalTokens,
  type WindowState
} from "../../core/index.ts"
import { tiersWithOverrides } from "./overrides.ts"
import { sqliteAccountLimits } from "./sqlite.ts"
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
  /**
   * Where per-account overrides of the tiers are stored: the AccountLimits port's
   * implementation, the relay's SQLite store unless given.
   */
  readonly overrides?: Layer.Layer<AccountLimits, never, CoreServices>
  /**
   * How long an account's overrides, once read, are trusted before the store is asked again:
   * the longest a change made by another process takes to apply here.
   */
  readonly overridesRevalidateMs?: number
  /**
   * How a change of an account's overrides here reaches the other nodes (they drop their cached
   * copy at once): this process alone unless given.
   */
  readonly fanout?: Layer.Layer<Fanout, never, CoreServices>
}

export { postgresAccountLimits } from "./postgres.ts"
export { redisRateWindows } from "./redis.ts"
export { LIMITER_PG_SCHEMA } from "./schema-pg.ts"
export { sqliteAccountLimits } from "./sqlite.ts"
export { MemoryRateWindows, memoryRateWindows } from "./store.ts"

interface Reservation {
  readonly account: string
  readonly ticket: TokenTicket
  /** The key's own window and ticket, when the key has limits of its own. */
  readonly key: { readonly window: string; readonly ticket: TokenTicket } | undefined
  readonly countsTokens: boolean
}

/**
 * A key's own limits, within its account's (the tighter of the two), and the window they are
 * counted in; undefined when the key has none.
 */
const keyWindowOf = (caller: Caller, account: Limits): { readonly window: string; readonly limits: Limits } | undefined => {
  const key = caller.key
  if (key === undefined || (key.rpm === null && key.tpm === null)) return undefined
  return {
    window: `key:${caller.keyId}`,
    limits: { rpm: Math.min(key.rpm ?? account.rpm, account.rpm), tpm: Math.min(key.tpm ?? account.tpm, account.tpm) }
  }
}

/** The fan-out topic of override changes: `<node> <account id>`. */
const OVERRIDES_TOPIC = "limiter-overrides"

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
const tiersOf = (options: LimiterOptions, info: RelayInfo): { readonly tiers: Readonly<Record<string, RateTier>>; readonly defaultTier: string } => {
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
  return { tiers: table, defaultTier }
}

/**
 * Requests and tokens per minute per account, across all of its keys, on `/v1` and `/byok/v1`
 * alike; a key with limits of its own is also counted in a window of its own, within its
 * account's (and its answers' headers show that window, the one that binds it). Before
 * dispatch it reserves the estimated prompt plus the output allowance; at settle
 * it replaces the reservation with the real usage. Every proxied answer to a known caller
 * carries the X-RateLimit headers: admitted, refused at admission, or refused before it (a bad
 * body, an unknown model) and the model list, which show the windows without counting in them.
 */
export const limiter = (options: LimiterOptions = {}) =>
  definePlugin("limiter", (info) =>
    Effect.gen(function*() {
      const { tiers: table, defaultTier } = tiersOf(options, info)
      const windows = yield* buildStore(options.windows ?? memoryRateWindows, Context.get(RateWindows))
      const store = yield* buildStore(options.overrides ?? sqliteAccountLimits, Context.get(AccountLimits))
      const fanout = yield* buildStore(options.fanout ?? localFanout, Context.get(Fanout))
      // This node's name in its announcements: it has applied its own changes already.
      const node = randomBase62(12)
      const { tiers, forget } = tiersWithOverrides({
        tiers: table,
        defaultTier,
        store,
        revalidateMs: options.overridesRevalidateMs ?? 500,
        maxEntries: 10_000,
        now: Date.now,
        announce: (accountId) => Effect.runFork(fanout.publish(OVERRIDES_TOPIC, `${node} ${accountId}`))
      })
      // Another node changed an account's overrides (or messages were missed: all are read again).
      yield* fanout.subscribe(OVERRIDES_TOPIC, (message) => {
        if (message === undefined) return forget(undefined)
        const [from, accountId] = message.split(" ")
        if (from !== node && accountId !== undefined) forget(accountId)
      })
      const defaultOutput = options.defaultOutputTokens ?? 4_096
      return {
        services: Context.make(RateTiers, tiers),
        admit: (ctx) => {
          const account = ctx.caller.account
          return Effect.flatMap(tiers.limitsFor(account), (limits) => {
            const countsTokens = !ctx.byok || options.byokTokens !== false
            const needed = countsTokens ? tokensNeeded(ctx, defaultOutput, limits) : 0
            const now = Date.now()
            const admitAccount = (key: Reservation["key"]) =>
              Effect.flatMap(windows.admit(account.id, limits, needed, now), (admission) => {
                if (!admission.admitted) {
                  setHeaders(ctx, limits, admission.state)
                  // The key's window takes back the request it admitted, and its tokens: it was not served.
                  const undo = key === undefined ? Effect.void : windows.release(key.window, key.ticket, now)
                  return Effect.andThen(undo, Effect.fail(refusal(admission.reason, limits, needed, admission.retryAfterSeconds)))
                }
                if (key === undefined) setHeaders(ctx, limits, admission.state)
                ctx.set(RESERVATION, { account: account.id, ticket: admission.ticket, key, countsTokens })
                return Effect.void
              })
            const own = keyWindowOf(ctx.caller, limits)
            if (own === undefined) return admitAccount(undefined)
            const keyNeeded = countsTokens ? tokensNeeded(ctx, defaultOutput, own.limits) : 0
            return Effect.flatMap(windows.admit(own.window, own.limits, keyNeeded, now), (admission) => {
              setHeaders(ctx, own.limits, admission.state)
              if (!admission.admitted) return Effect.fail(refusal(admission.reason, own.limits, keyNeeded, admission.retryAfterSeconds))
              return admitAccount({ window: own.window, ticket: admission.ticket })
            })
          })
        },
        annotate: (ctx) => {
          const caller = ctx.caller
          // A request refused at admission (by this plugin or one after it) has its headers.
          if (caller === undefined || ctx.responseHeaders.has("x-ratelimit-limit")) return Effect.void
          const account = caller.account
          return Effect.flatMap(tiers.limitsFor(account), (limits) => {
            const shown = keyWindowOf(caller, limits) ?? { window: account.id, limits }
            return Effect.map(windows.peek(shown.window, shown.limits, Date.now()), (state) => setHeaders(ctx, shown.limits, state))
          })
        },
        settle: (ctx, outcome) => {
          const reservation = ctx.get(RESERVATION)
          if (reservation === undefined) return Effect.void
          const used = reservation.countsTokens && outcome.usage !== undefined ? totalTokens(outcome.usage) : 0
          const now = Date.now()
          const account = windows.settle(reservation.account, reservation.ticket, used, now)
          const corrections = reservation.key === undefined ? account : Effect.andThen(account, windows.settle(reservation.key.window, reservation.key.ticket, used, now))
          // The answer's end does not wait for the corrections: on Redis they would add a round
          // trip to every answer. Until they land (at once in memory; on Redis with the node's
          // next admission, or alone within 50 ms) the windows count the request's reservation;
          // one lost while Redis is away leaves that.
          Effect.runFork(Effect.catchCause(corrections, () => Effect.void))
          return Effect.void
        }
      }
    }))
