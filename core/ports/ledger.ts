import { Context, type Effect } from "effect"
import type { UsageRecord } from "./usage-records.ts"

/** An account's money, in nano-USD. */
export interface Balance {
  readonly balance: bigint
  /** Held by requests in flight (and charges not yet written). */
  readonly reserved: bigint
}

/** Money set aside for one request while it runs; handed back to `settle` or `release`. */
export interface Reservation {
  readonly account: string
  readonly amount: bigint
  /** The relay key it is also held against, when that key has a spend limit. */
  readonly key?: string | undefined
}

/**
 * A key's spend limit, checked with the account's balance in the same atomic step: what the
 * key was charged from UTC day `since` on (its period), plus what it holds now, plus the new
 * reservation, must stay within `limit`.
 */
export interface KeyBudget {
  readonly key: string
  readonly limit: bigint
  /** First UTC day (days since 1970-01-01) of the limit's current period; 0 for a lifetime. */
  readonly since: number
}

/** A reservation refused by the key's spend limit, with what the key spent and holds. */
/**
 * The key a charge counts against. With a spend limit, what counts against the key is at most
 * what is left of its limit in the period from UTC day `since` (decided in the charge's atomic
 * step, so concurrent settles together stop at the limit): a request whose real cost exceeded
 * its reservation never leaves the key past its limit. The account is still charged the whole
 * cost (the provider was paid for it), and the usage record keeps it.
 */
export interface KeyCharge {
  readonly id: string
  readonly day: number
  readonly limit?: { readonly amount: bigint; readonly since: number } | undefined
}

export interface KeyBudgetSpent {
  readonly key: string
  readonly limit: bigint
  readonly spent: bigint
  readonly reserved: bigint
}

/** The store refused a charge for now; it is kept and written once the store takes writes. */
export class ChargeKept extends Error {
  constructor(readonly reason: string) {
    super(`the charge is kept until the store takes writes again: ${reason}`)
  }
}

/** A charge that can never be written (its usage record is refused, say); its money is freed. */
export class ChargeFailed extends Error {
  constructor(override readonly cause: unknown) {
    super("the charge could not be written")
  }
}

/** A settled request: its charge, decided at once, and when it is written. */
export interface Settled {
  readonly charged: bigint
  /**
   * Waits until the charge is durable: the amount written (less than `charged` only if the
   * balance fell meanwhile). Fails with `ChargeKept` if the store refuses it for now (the charge
   * is then kept and written later, but the request cannot wait for that). It may be waited on
   * any time after the settle, even after the store refused.
   */
  readonly committed: Effect.Effect<bigint, ChargeKept | ChargeFailed>
}

export interface SettleInput {
  readonly account: string
  readonly reservation: Reservation | undefined
  /** The request's real cost; the charge is at most what the balance has beyond others' holds. */
  readonly cost: bigint
  readonly requestId: string
  /** The relay key charged and the UTC day its charge counts in, for the key's spend. */
  readonly key?: KeyCharge | undefined
  /** The request's usage record, written in the charge's transaction, told the amount charged. */
  readonly record: (charged: bigint) => UsageRecord
}

/**
 * Balances and the append-only ledger, with the reservations of requests in flight.
 *
 * Money rules every implementation keeps: reserve checks and holds in one atomic step, so
 * concurrent requests never together overdraw; a charge never takes a balance below zero nor
 * below what others hold; `committed` resolves only once the charge and its usage record are
 * durable, together; a charge the store refuses is kept and written later, exactly once, and
 * meanwhile the store's health says it refuses writes.
 */
export interface LedgerShape {
  /** The balance as stored and what is held against it, charges waiting to be written included. */
  readonly read: (account: string) => Effect.Effect<Balance>
  /**
   * Holds `amount` if the available balance covers it (and, with a budget, the key's limit
   * covers it too, checked in the same atomic step); else answers what refused it: the balance
   * it saw, or the key's spend.
   */
  readonly reserve: (account: string, amount: bigint, budget?: KeyBudget) => Effect.Effect<Reservation | Balance | KeyBudgetSpent>
  /** What a key was charged from UTC day `since` on, as written (`flush` first to see every settled request). */
  readonly keySpent: (key: string, since: number) => Effect.Effect<bigint>
  /** Lets a reservation go without charging anything (a request refused after admission). */
  readonly release: (reservation: Reservation) => Effect.Effect<void>
  /** Releases the reservation (if any) and charges the cost with the request's usage record. */
  readonly settle: (input: SettleInput) => Effect.Effect<Settled>
  /**
   * Adds a top-up or a correction (negative); never overwrites. False, with nothing written,
   * when the amount or the balance it would leave is beyond MONEY_LIMIT_NANO.
   */
  readonly credit: (account: string, amount: bigint, note: string | null) => Effect.Effect<boolean>
  /** Writes the charges waiting now: before a read that must see every settled request. */
  readonly flush: () => Effect.Effect<void>
  /** Charges waiting to be written (kept after a refusal, or queued). */
  readonly pending: () => Effect.Effect<number>
  /** Stops retrying on a timer (the relay is closing; a last `flush` may still write them). */
  readonly stopRetrying: () => Effect.Effect<void>
}

export class Ledger extends Context.Service<Ledger, LedgerShape>()("relay/Ledger") {}
