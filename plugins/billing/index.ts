import { Context, Effect, type Layer } from "effect"
import {
  Balances,
  type BalancesShape,
  buildStore,
  type Caller,
  dayOf,
  type KeyBudget,
  KeySpendLimitExceeded,
  periodStartDay,
  ChargeKept,
  type CoreServices,
  definePlugin,
  emptyUsage,
  formatUsd,
  InsufficientBalance,
  InvalidRequest,
  Ledger,
  Log,
  type ModelEntry,
  ModelNotFound,
  type RelayError,
  type RequestContext,
  type Reservation,
  StateKey,
  StoreHealth,
  StoreUnavailable,
  type Usage,
  UsageHistory,
  type UsageHistoryShape,
  type UsageRecord,
  UsageRecords,
  USD_AMOUNT_RULE
} from "../../core/index.ts"
import { costOf, percentOf, type Rates, ratesOf } from "./pricing.ts"
import { billingRoutes } from "./routes.ts"
import { sqliteBilling } from "./sqlite.ts"

export { LEDGER_PG_SCHEMA, USAGE_PG_SCHEMA } from "./schema-pg.ts"
export { postgresBilling, type PostgresBillingOptions } from "./postgres.ts"
export { sqliteBilling } from "./sqlite.ts"

export interface BillingOptions {
  /** Percent of the list cost charged on BYOK requests (their tokens are otherwise free). */
  readonly byokFeePercent?: number
  /** Output tokens assumed for the worst case when neither request nor catalog caps them. */
  readonly defaultOutputTokens?: number
  /** The clock that places charges in a key's spend period (UTC days); tests inject one. */
  readonly now?: () => number
  /**
   * Where balances, the ledger and usage records are kept: implementations of the Ledger and
   * UsageRecords ports, sharing a store so a charge and its record are written together; the
   * relay's SQLite store unless given.
   */
  readonly store?: Layer.Layer<Ledger | UsageRecords, never, CoreServices>
}

interface Charge {
  readonly rates: Rates | undefined
  readonly reservation: Reservation | undefined
  /** The UTC day the request was admitted on: its charge counts in that day's key spend. */
  readonly day: number
  /** The key's spend limit it was admitted under, if any: its charge counts against the key up to it. */
  readonly budget?: KeyBudget | undefined
}

const CHARGE = new StateKey<Charge>("billing/charge")

/** Tries at writing kept charges when the relay closes, 100 ms apart. */
const STOP_ATTEMPTS = 30

/** The longest note a credit keeps in the ledger. */
const NOTE_MAX_CHARS = 500

/** A request that never reached the upstream used nothing, by the upstream's count. */
const noUsage: Usage = { ...emptyUsage, source: "upstream" }

/**
 * The prompt estimate for a reservation, with headroom: the reservation must cover the real
 * cost, or a stream of requests could together overdraw before their settles.
 */
const reservedPromptTokens = (ctx: RequestContext) => Math.ceil(ctx.estimatedPromptTokens() * 1.25) + 64

/**
 * Prepaid balances charged per token at the catalog's prices, and one usage record per
 * request. Before dispatch it reserves the worst-case cost (402 when the available balance
 * cannot cover it); at settle it charges the real cost from the upstream's usage and releases
 * the rest, written in one transaction with the usage record (and with the other charges of the
 * same few milliseconds: see ledger.ts).
 */
export const billing = (options: BillingOptions = {}) =>
  definePlugin("billing", () =>
    Effect.gen(function*() {
      const log = yield* Log
      const health = yield* StoreHealth
      const { ledger, usage } = yield* buildStore(options.store ?? sqliteBilling, (ports) => ({
        ledger: Context.get(ports, Ledger),
        usage: Context.get(ports, UsageRecords)
      }))
      // Reads of money and usage see every settled request: the charges waiting to be written
      // are written first.
      const committed = <A>(read: Effect.Effect<A>) => Effect.andThen(ledger.flush(), read)
      const now = options.now ?? Date.now
      const history: UsageHistoryShape = {
        list: (accountId, limit) => committed(usage.list(accountId, limit)),
        dailySpend: (accountId, days) => committed(usage.dailySpend(accountId, days)),
        spendBy: (by, days) => committed(usage.spendBy(by, days))
      }
      const byokFee = options.byokFeePercent ?? 0
      const defaultOutput = options.defaultOutputTokens ?? 16_384

      // The one way credit is booked (admin API, console, command line), so one set of rules.
      const credit = (accountId: string, amount: bigint, note: string | null): Effect.Effect<void, InvalidRequest> => {
        if (note !== null && note.length > NOTE_MAX_CHARS) {
          return Effect.fail(new InvalidRequest({ message: `note: expected at most ${NOTE_MAX_CHARS} characters`, param: "note" }))
        }
        return Effect.flatMap(ledger.credit(accountId, amount, note), (booked) =>
          booked ? Effect.void : Effect.fail(new InvalidRequest({ message: `amount: ${USD_AMOUNT_RULE}`, param: "amount" })))
      }
      const balances: BalancesShape = {
        balance: (accountId) => committed(Effect.map(ledger.read(accountId), ({ balance }) => balance)),
        credit,
        openingCredit: (accountId, amount) => credit(accountId, amount, "opening credit"),
        keySpent: (keyId, period) => committed(ledger.keySpent(keyId, periodStartDay(period, now())))
      }

      const priceFor = (ctx: RequestContext, cost: bigint) => (ctx.byok ? percentOf(cost, byokFee) : cost)
      // Catalog entries live as long as the relay: each one's prices are parsed once, not on
      // every request.
      const rateCache = new WeakMap<ModelEntry, Rates | undefined>()
      const ratesFor = (entry: ModelEntry | undefined) => {
        if (entry === undefined) return undefined
        if (!rateCache.has(entry)) rateCache.set(entry, ratesOf(entry))
        return rateCache.get(entry)
      }

      /** The key's spend limit for the period holding `at`, if it has one. */
      const budgetOf = (caller: Caller, at: number): KeyBudget | undefined => {
        const key = caller.key
        const limit = key?.spendLimit
        return key === undefined || limit === null || limit === undefined ? undefined : { key: caller.keyId, limit, since: periodStartDay(key.spendPeriod, at) }
      }

      return {
        admit: (ctx) => {
          const account = ctx.caller.account
          const rates = ratesFor(ctx.target.entry)
          if (rates === undefined && !ctx.byok) {
            return Effect.fail(new ModelNotFound({ message: `model ${ctx.model} has no price on this relay` }))
          }
          // Fail closed: what the relay cannot record, it does not serve (every request leaves
          // a usage record, BYOK ones too, and the end of its answer waits for it).
          if (!health.writable) {
            return Effect.fail(new StoreUnavailable({ message: `the relay cannot record charges right now (${health.reason}); try again shortly`, retryAfterSeconds: 5 }))
          }
          const worst = rates === undefined ? 0n : priceFor(ctx, costOf({ ...noUsage, promptTokens: reservedPromptTokens(ctx), ...ctx.outputReservation(defaultOutput) }, rates))
          const at = now()
          const budget = budgetOf(ctx.caller, at)
          // A key with a spend limit is checked even for a free request: at its limit, it is done.
          if (worst === 0n && budget === undefined) {
            ctx.set(CHARGE, { rates, reservation: undefined, day: dayOf(at) })
            return Effect.void
          }
          return Effect.flatMap(ledger.reserve(account.id, worst, budget), (result): Effect.Effect<void, RelayError> => {
            if ("limit" in result) {
              // A key's budget refused it, so the key has a spend limit and its period.
              const period = ctx.caller.key?.spendPeriod ?? null
              return Effect.fail(new KeySpendLimitExceeded({
                message: `this key's spend limit of $${formatUsd(result.limit)} ${period === null ? "in total" : `per ${period} (UTC)`} cannot cover this request's reservation of $${formatUsd(worst)}: $${formatUsd(result.spent)} spent, $${formatUsd(result.reserved)} held by requests in flight`
              }))
            }
            if (!("account" in result)) {
              return Effect.fail(new InsufficientBalance({
                message: `the available balance of $${formatUsd(result.balance - result.reserved)} cannot cover this request's reservation of $${formatUsd(worst)} (its prompt and max_tokens at the model's prices); add credit or lower max_tokens`
              }))
            }
            ctx.set(CHARGE, { rates, reservation: result, day: dayOf(at), budget })
            return Effect.void
          })
        },

        settle: (ctx, outcome) => {
          const caller = ctx.caller
          if (caller === undefined) return Effect.void
          const charge = ctx.get(CHARGE)
          const used = outcome.usage ?? noUsage
          const cost = charge?.rates === undefined || outcome.usage === undefined ? 0n : priceFor(ctx, costOf(used, charge.rates))
          const record = (amount: bigint): UsageRecord => ({
            requestId: ctx.id,
            accountId: caller.account.id,
            keyId: caller.keyId,
            createdAt: ctx.createdAt,
            surface: ctx.route.slice(1).replaceAll("/", "."),
            model: ctx.model,
            provider: ctx.target?.provider,
            byok: ctx.byok,
            status: outcome.status,
            usage: used,
            cost: amount,
            latencyMs: outcome.latencyMs,
            ttfbMs: outcome.ttfbMs
          })
          // The charge is decided now and written with the others of this turn of the event
          // loop; the settle ends once it is durable, and the end of the answer waits for that.
          // The key's limit as admitted: what counts against the key stops at it.
          const budget = charge?.budget
          const key = { id: caller.keyId, day: charge?.day ?? dayOf(now()), limit: budget === undefined ? undefined : { amount: budget.limit, since: budget.since } }
          return Effect.flatMap(ledger.settle({ account: caller.account.id, reservation: charge?.reservation, cost, requestId: ctx.id, key, record }), ({ charged, committed }) => {
            ctx.charged = charged
            if (charged < cost) {
              log.warn({ request_id: ctx.id, account: caller.account.id, cost: formatUsd(cost), charged: formatUsd(charged) }, "charge capped at the balance")
            }
            return Effect.mapError(committed, (error) => {
              if (error instanceof ChargeKept) {
                return new StoreUnavailable({ message: `the relay cannot record this request's charge right now (${error.reason})`, retryAfterSeconds: 5 })
              }
              const cause = error.cause
              log.error({ request_id: ctx.id, account: caller.account.id, error: cause instanceof Error ? cause.name : "unknown" }, "charge could not be written")
              return new StoreUnavailable({ message: "the relay could not record this request's charge" })
            })
          }).pipe(Effect.asVoid)
        },

        services: Context.make(Balances, balances).pipe(Context.add(UsageHistory, history)),

        routes: billingRoutes,

        // The charges still waiting are written before the store closes; kept ones get a few
        // more tries, and are named in the log if the store still refuses them.
        stop: Effect.gen(function*() {
          yield* ledger.stopRetrying()
          for (let attempt = 0; attempt < STOP_ATTEMPTS; attempt++) {
            yield* ledger.flush()
            yield* ledger.stopRetrying()
            if ((yield* ledger.pending()) === 0) return
            yield* Effect.sleep(100)
          }
          log.error({ kept: yield* ledger.pending(), reason: health.reason }, "closing with charges the store would not take: they are lost")
        })
      }
    }))
