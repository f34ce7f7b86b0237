import { Context, Effect, Layer, Option } from "effect"
import { ChargeFailed, ChargeJournal, ChargeKept, Ledger, Log, Sql, StoreHealth, type UsageRecord, UsageRecords } from "../../core/index.ts"
import { makeLedger } from "./ledger.ts"
import { makeUsageRecords } from "./usage-records.ts"

/**
 * The ledger and the usage records in the relay's SQLite store, sharing it so that a charge
 * and its record are one transaction. Reservations and recently read balances are kept in
 * this process's memory (see ledger.ts), so each answer is computed in place. Given a charge
 * journal (the serving relay's), charges become durable in it first and reach the store a few
 * milliseconds later.
 */
export const sqliteBilling: Layer.Layer<Ledger | UsageRecords, never, Sql | Log | StoreHealth> = Layer.effectContext(
  Effect.gen(function*() {
    const sql = yield* Sql
    const log = yield* Log
    const usage = makeUsageRecords(sql)
    const journal = Option.getOrUndefined(yield* Effect.serviceOption(ChargeJournal))
    const ledger = makeLedger(sql, {
      // A usage record is journaled without its cost (a bigint, and decided when written).
      journal: journal && { file: journal, replay: (memo, charged) => usage.add({ ...(memo as Omit<UsageRecord, "cost">), cost: charged }) },
      health: yield* StoreHealth,
      report: ({ refused, kept, recovered, dropped }) => {
        if (refused !== undefined) log.error({ reason: refused, kept }, "the store refuses writes: charges are kept and retried, and requests refused (503) until it takes them")
        else log.warn({ written: recovered, dropped_free_records: dropped || undefined }, "the store takes writes again: the kept charges are written and requests served")
      }
    })
    // A read of what was charged sees every durable charge: those journaled are written first.
    const written = <A>(read: () => A) => Effect.sync(() => {
      if (journal !== undefined) ledger.commit()
      return read()
    })
    return Context.make(Ledger, Ledger.of({
      read: (account) => written(() => ledger.balance(account)),
      reserve: (account, amount, budget) => Effect.sync(() => ledger.reserve(account, amount, budget)),
      keySpent: (key, since) => written(() => ledger.keySpent(key, since)),
      release: (reservation) => Effect.sync(() => ledger.release(reservation)),
      settle: ({ account, reservation, cost, requestId, key, record }) =>
        Effect.sync(() => {
          const memo = journal && { ...record(0n), cost: undefined }
          const { charged, committed } = ledger.settle(account, reservation, cost, requestId, (charged) => usage.add(record(charged)), key, memo)
          // Its refusal may come before anyone waits on it (the caller is a turn of the event
          // loop away, or never waits): it must not count as an unhandled rejection meanwhile.
          committed.catch(() => undefined)
          return {
            charged,
            committed: Effect.tryPromise({ try: () => committed, catch: (error) => (error instanceof ChargeKept ? error : new ChargeFailed(error)) })
          }
        }),
      credit: (account, amount, note) => Effect.sync(() => ledger.credit(account, amount, note)),
      flush: () => Effect.sync(ledger.commit),
      pending: () => Effect.sync(() => ledger.pending),
      stopRetrying: () => Effect.sync(ledger.stopRetrying)
    })).pipe(Context.add(UsageRecords, UsageRecords.of({
      list: (accountId, limit) => written(() => usage.list(accountId, limit)),
      dailySpend: (accountId, days) => written(() => usage.dailySpend(accountId, days)),
      spendBy: (by, days) => written(() => usage.spendBy(by, days))
    })))
  })
)
