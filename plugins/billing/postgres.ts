import { Context, Effect, Layer } from "effect"
import type { Sql, TransactionSql } from "postgres"
import {
  type Balance,
  ChargeFailed,
  type KeyBudget,
  type KeyBudgetSpent,
  type KeyCharge,
  ChargeKept,
  clientOf,
  databaseRefusal,
  withinBound,
  Ledger,
  Log,
  MONEY_LIMIT_NANO,
  type PostgresSource,
  query,
  randomBase62,
  type Reservation,
  StoreHealth,
  type UsageRecord,
  UsageRecords,
  withinMoneyLimit
} from "../../core/index.ts"
import { type LeaseHold, LEASE_IDLE_MS, makeLeases } from "./pg-leases.ts"
import { type UsageRow, usageView } from "./usage-records.ts"

/**
 * Balances, the ledger, the reservations of requests in flight and the usage records in
 * PostgreSQL, shared by every relay node (the tables of schema-pg.ts).
 *
 * Reservations are rows, so every node sees every hold: `reserve` checks and holds in one
 * conditional UPDATE of the balance row (PostgreSQL re-checks the condition against the newest
 * row when another node changed it meanwhile, so nodes never together overdraw), and records
 * the hold with its node's lease. A node renews its leases while it runs; a node that died
 * leaves holds that any other node frees once their lease has lapsed.
 *
 * A node may also serve an account's reservations from a slice of its balance set aside for the
 * node (a balance lease, pg-leases.ts): no round trip before dispatch while the balance is far
 * above the reservation, a row per reservation as above near its floor.
 *
 * A settle is one statement: it frees the hold, caps the charge at what the balance has beyond
 * others' holds, appends the charge and the usage record and moves the balance. The settles of
 * one turn of the event loop (and those that arrive while a write is in flight) are written in
 * one transaction, in one round trip. Each settle carries an id the relay made; a settle
 * retried after its commit's answer was lost finds its record and writes nothing again.
 *
 * A database that is away refuses the write: its charges are kept in memory (their holds stay
 * in the database) and written again until it takes them, exactly once; meanwhile the store's
 * health says it refuses writes, and billing admits nothing it would have to charge.
 */

export interface PostgresBillingOptions {
  /**
   * How long a node's reservation outlives the node: renewed every third of it while the node
   * runs, freed by the other nodes once it lapses after a crash.
   */
  readonly leaseMs?: number
}

const DEFAULT_LEASE_MS = 60_000

/** Waits between attempts to write charges the database refused: short first, then every second. */
const RETRY_MS = [10, 25, 50, 100, 250, 500, 1_000]

const DAY_MS = 86_400_000

/** A hold as this store hands it out: its row's id besides the port's fields, or the slice it came from. */
type Hold = (Reservation & { readonly id: string | null; readonly lease?: undefined }) | LeaseHold

type Outcome = { readonly written: bigint } | { readonly kept: string } | { readonly failed: unknown }

interface PendingSettle {
  readonly settleId: string
  readonly hold: Hold | undefined
  /** For a hold of a slice: what of the charge leaves the slice (the row shrinks by it). */
  readonly fromSlice: bigint
  readonly account: string
  readonly cost: bigint
  readonly key: KeyCharge | undefined
  readonly record: UsageRecord
  /** Tells the request its first outcome; a charge kept after it is still written later. */
  readonly tell: (outcome: Outcome) => void
}

/** Times kept to the microsecond, as the SQLite store keeps them. */
const micros = (ms: number) => Math.round(ms * 1000) / 1000

/**
 * One settle, in one statement: only if no record carries its id yet; the charge is decided
 * against the balance row as locked now, so it holds whichever node wrote last. It answers the
 * amount charged (the earlier answer, for a settle already written).
 */
const settleStatement = (sql: Sql<{ bigint: bigint }> | TransactionSql<{ bigint: bigint }>, { settleId, hold, fromSlice, account, cost, key, record }: PendingSettle) => sql<Array<{ cost_nano: bigint }>>`
  WITH fresh AS (
    SELECT NOT EXISTS (SELECT 1 FROM usage_records WHERE settle_id = ${settleId}) AS yes
  ), freed AS (
    -- What the hold held (the charge may use it) and what leaves the reserved sum: a hold's own
    -- row goes whole; a slice's row keeps the hold's rest for the node's next holds.
    ${hold?.lease === undefined
    ? sql`DELETE FROM reservations WHERE id = ${hold?.id ?? null} AND (SELECT yes FROM fresh) RETURNING amount_nano AS held, amount_nano AS unreserved`
    : sql`UPDATE reservations SET amount_nano = amount_nano - ${fromSlice}::bigint WHERE id = ${hold.lease.id} AND (SELECT yes FROM fresh)
        RETURNING ${hold.amount}::bigint AS held, ${fromSlice}::bigint AS unreserved`}
  ), current AS (
    SELECT balance_nano, reserved_nano FROM balances WHERE account_id = ${account} AND (SELECT yes FROM fresh) FOR UPDATE
  ), charge AS (
    SELECT LEAST(${cost}::bigint, GREATEST(0, balance_nano - reserved_nano + COALESCE((SELECT held FROM freed), 0)))::bigint AS amount
    FROM current
  ), moved AS (
    UPDATE balances SET
      balance_nano = balance_nano - (SELECT amount FROM charge),
      reserved_nano = reserved_nano - COALESCE((SELECT unreserved FROM freed), 0)
    WHERE account_id = ${account} AND EXISTS (SELECT 1 FROM current)
  ), entry AS (
    INSERT INTO ledger (account_id, kind, amount_nano, request_id, note, created_at)
    SELECT ${account}, 'charge', amount, ${record.requestId}, CASE WHEN amount < ${cost}::bigint THEN 'capped from ' || ${cost.toString()} END, ${Date.now()}::bigint
    FROM charge WHERE amount > 0
  ), counted AS (
    -- What counts against the key: with a limit, at most what is left of it (the key's lock,
    -- taken before this statement, keeps other settles of the key from coming between).
    SELECT CASE WHEN ${key?.limit?.amount ?? null}::bigint IS NULL THEN amount ELSE LEAST(amount, GREATEST(0, ${key?.limit?.amount ?? null}::bigint - (
      SELECT COALESCE(SUM(spent_nano), 0) FROM key_spend WHERE key_id = ${key?.id ?? null}::text AND day >= ${key?.limit?.since ?? 0}::integer
    ))) END::bigint AS amount
    FROM charge
  ), spend AS (
    INSERT INTO key_spend (key_id, day, spent_nano)
    SELECT ${key?.id ?? null}::text, ${key?.day ?? 0}::integer, amount FROM counted WHERE amount > 0 AND ${key?.id ?? null}::text IS NOT NULL
    ON CONFLICT (key_id, day) DO UPDATE SET spent_nano = key_spend.spent_nano + excluded.spent_nano
  ), written AS (
    INSERT INTO usage_records (settle_id, request_id, account_id, key_id, created_at, surface, model, provider, byok, status,
      prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, image_input_tokens, image_output_tokens,
      cost_nano, usage_source, latency_ms, ttfb_ms)
    SELECT ${settleId}, ${record.requestId}, ${record.accountId}, ${record.keyId ?? null}::text, ${record.createdAt}::bigint, ${record.surface},
      ${record.model}, ${record.provider ?? null}::text, ${record.byok ? 1 : 0}::integer, ${record.status}::integer,
      ${record.usage.promptTokens}::bigint, ${record.usage.completionTokens}::bigint, ${record.usage.cachedTokens}::bigint,
      ${record.usage.cacheWriteTokens}::bigint, ${record.usage.imageInputTokens}::bigint, ${record.usage.imageOutputTokens}::bigint,
      COALESCE((SELECT amount FROM charge), 0), ${record.usage.source}, ${micros(record.latencyMs)}::double precision,
      ${record.ttfbMs === undefined ? null : micros(record.ttfbMs)}::double precision
    FROM fresh WHERE yes
    RETURNING cost_nano
  )
  SELECT cost_nano FROM written UNION ALL SELECT cost_nano FROM usage_records WHERE settle_id = ${settleId}`

export const postgresBilling = (source: PostgresSource, options: PostgresBillingOptions = {}): Layer.Layer<Ledger | UsageRecords, never, Log | StoreHealth> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const sql = yield* clientOf(source)
      const log = yield* Log
      const health = yield* StoreHealth
      const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS
      /** This node, as its reservations name it. */
      const node = `node_${randomBase62(16)}`

      /**
       * Holds whose reserve got no answer (the database stalled, the answer was lost): they may
       * have been made, and no request will settle them, so the next renewal lets them go.
       */
      const orphans = new Set<string>()
      const leases = makeLeases(sql, node, leaseMs, orphans)

      /** Deletes the rows `ids` of this node, and takes what they held out of their balances' reserved sums. */
      const freeRows = (tx: Sql<{ bigint: bigint }> | TransactionSql<{ bigint: bigint }>, ids: ReadonlyArray<string>) => tx`
        WITH gone AS (DELETE FROM reservations WHERE id IN ${tx(ids)} AND node = ${node} RETURNING account_id, amount_nano),
        sums AS (SELECT account_id, SUM(amount_nano)::bigint AS amount FROM gone GROUP BY account_id)
        UPDATE balances SET reserved_nano = balances.reserved_nano - sums.amount FROM sums WHERE balances.account_id = sums.account_id`

      // Renews this node's leases, lets its orphaned holds go, and frees the holds of nodes
      // whose lease lapsed.
      const renew = () => {
        const lost = [...orphans]
        const at = Date.now()
        return sql.begin((tx) => [
          ...(lost.length === 0 ? [] : [freeRows(tx, lost)]),
          tx<Array<{ id: string }>>`UPDATE reservations SET expires_at = ${at + leaseMs} WHERE node = ${node} AND id LIKE 'lse%' RETURNING id`,
          tx`UPDATE reservations SET expires_at = ${at + leaseMs} WHERE node = ${node} AND id NOT LIKE 'lse%'`,
          tx`
            WITH gone AS (DELETE FROM reservations WHERE expires_at < ${at} RETURNING account_id, amount_nano),
            sums AS (SELECT account_id, SUM(amount_nano)::bigint AS amount FROM gone GROUP BY account_id)
            UPDATE balances SET reserved_nano = balances.reserved_nano - sums.amount FROM sums WHERE balances.account_id = sums.account_id`
        ]).then(
          (results) => {
            lost.forEach((id) => orphans.delete(id))
            leases.renewed(at, new Set((results[lost.length === 0 ? 0 : 1] as Array<{ id: string }>).map((row) => row.id)))
          },
          (error) => log.warn({ reason: databaseRefusal(error)?.reason ?? "error" }, "reservation leases were not renewed; retrying")
        )
      }
      yield* Effect.acquireRelease(
        Effect.sync(() => setInterval(renew, Math.max(100, Math.floor(leaseMs / 3)))),
        (timer) => Effect.sync(() => clearInterval(timer))
      )

      // Gives back the slices that went idle or drained (no round trip while there are none); a
      // slice the database did not take back goes with the orphans at the next renewal.
      const giveBackIdle = () => {
        const ids = leases.idle(Date.now())
        if (ids.length === 0) return
        withinBound(freeRows(sql, ids)).catch(() => ids.forEach((id) => orphans.add(id)))
      }
      yield* Effect.acquireRelease(
        Effect.sync(() => setInterval(giveBackIdle, LEASE_IDLE_MS / 2)),
        (timer) =>
          Effect.promise(async () => {
            clearInterval(timer)
            // The node stops: its slices go back now, not a lease later (the relay's last
            // settles are written by then).
            const ids = leases.rows()
            if (ids.length > 0) await withinBound(freeRows(sql, ids), 2_000).catch(() => undefined)
          })
      )

      /** Charges the database refused, oldest first, written before any newer one. */
      let kept: Array<PendingSettle> = []
      let queue: Array<PendingSettle> = []
      let writing: Promise<void> | undefined
      /** Settles in the write in flight: still waiting, as far as `pending` is concerned. */
      let inFlight = 0
      let retry: ReturnType<typeof setTimeout> | undefined
      let attempts = 0

      const refusedNow = (reason: string) => {
        health.attemptRefused()
        if (health.refused(reason)) {
          log.error({ reason, kept: kept.length }, "the database refuses writes: charges are kept and retried, and requests refused (503) until it takes them")
        }
        health.setKept(kept.length)
        if (retry === undefined) {
          retry = setTimeout(() => {
            retry = undefined
            void commit()
          }, RETRY_MS[Math.min(attempts++, RETRY_MS.length - 1)])
        }
      }

      const wrote = (written: number) => {
        attempts = 0
        health.setKept(kept.length)
        if (kept.length === 0 && health.recovered()) log.warn({ written }, "the database takes writes again: the kept charges are written and requests served")
      }

      /** Writes `batch` in one transaction (a lone settle as its statement); on a refusal keeps it, on another failure tries each alone. */
      const write = async (batch: ReadonlyArray<PendingSettle>): Promise<void> => {
        try {
          // A settle is one statement, atomic alone: by itself it needs no BEGIN and COMMIT, which
          // would make its one round trip three, on the path of the answer's end at low load. A
          // commit that does not answer in time is kept and tried again: each settle names
          // itself, so one that did commit meanwhile is not written twice.
          // A key with a spend limit is counted under its lock, which lasts only a transaction.
          const limitedKeys = [...new Set(batch.flatMap((pending) => (pending.key?.limit === undefined ? [] : [pending.key.id])))].sort()
          const answers = await withinBound(batch.length === 1 && limitedKeys.length === 0
            ? Promise.all([settleStatement(sql, batch[0]!)])
            : sql.begin((tx) => [
              // The limited keys' locks first, in one order (as a reservation takes them, before
              // any balance row), so no two commits wait on each other.
              ...limitedKeys.map((key) => tx`SELECT pg_advisory_xact_lock(hashtext(${`relay-key-spend:${key}`}))`),
              ...batch.map((pending) => settleStatement(tx, pending))
            ]).then((results) => results.slice(limitedKeys.length)))
          batch.forEach((pending, i) => {
            if (pending.hold?.lease !== undefined) leases.written(pending.hold)
            pending.tell({ written: answers[i]![0]!.cost_nano })
          })
          return wrote(batch.length)
        } catch (error) {
          const refusal = databaseRefusal(error)
          if (refusal !== undefined) {
            for (const pending of batch) pending.tell({ kept: refusal.reason })
            kept = kept.concat(batch)
            return refusedNow(refusal.reason)
          }
          if (batch.length > 1) {
            for (const pending of batch) await write([pending])
            return
          }
          // This one settle can never be written (its record is refused, say): its money is freed
          // (a slice's hold is back in its slice already).
          const [lone] = batch as [PendingSettle]
          lone.tell({ failed: error })
          if (lone.hold?.lease !== undefined) leases.written(lone.hold)
          else if (lone.hold !== undefined) await Effect.runPromise(Effect.ignore(release(lone.hold)))
        }
      }

      /** Writes what waits now, after any write in flight. */
      const commit = (): Promise<void> => {
        if (writing !== undefined) return writing.then(commit)
        if (queue.length === 0 && kept.length === 0) return Promise.resolve()
        const batch = kept.concat(queue)
        kept = []
        queue = []
        inFlight = batch.length
        writing = write(batch).finally(() => {
          writing = undefined
          inFlight = 0
          // Settles that came while this write was in flight make the next batch.
          if (queue.length > 0 && retry === undefined) void commit()
        })
        return writing
      }

      const release = (reservation: Reservation) =>
        query(async () => {
          const hold = reservation as Hold
          if (hold.lease !== undefined) return leases.release(hold)
          const id = hold.id
          if (id === null) return
          await sql`
            WITH gone AS (DELETE FROM reservations WHERE id = ${id} RETURNING account_id, amount_nano)
            UPDATE balances SET reserved_nano = balances.reserved_nano - gone.amount_nano FROM gone WHERE balances.account_id = gone.account_id`
        })

      /**
       * A reservation also held against a key's spend limit: one call of the schema's
       * `relay_reserve_within`, one round trip, which takes a key's holds one at a time. A
       * settle deletes its hold and writes its spend in one statement, so no reservation sees
       * one without the other.
       */
      const reserveWithin = async (account: string, amount: bigint, budget: KeyBudget): Promise<Hold | Balance | KeyBudgetSpent> => {
        const id = `res_${randomBase62(20)}`
        const statement = sql<Array<{ fits: boolean; held: boolean; spent: bigint; reserved: bigint; balance_nano: bigint; reserved_nano: bigint }>>`
          SELECT * FROM relay_reserve_within(${id}, ${account}, ${amount}::bigint, ${node}, ${Date.now() + leaseMs}::bigint,
            ${budget.key}, ${budget.since}::integer, ${budget.limit}::bigint)`
        const [row] = await withinBound(statement).catch((error: unknown) => {
          orphans.add(id)
          throw error
        })
        if (!row!.fits) return { key: budget.key, limit: budget.limit, spent: row!.spent, reserved: row!.reserved }
        return row!.held ? { account, amount, key: budget.key, id } : { balance: row!.balance_nano, reserved: row!.reserved_nano }
      }

      const ledger = Ledger.of({
        read: (account) =>
          query(async (): Promise<Balance> => {
            const [row] = await sql<Array<{ balance_nano: bigint; reserved_nano: bigint }>>`
              SELECT balance_nano, reserved_nano FROM balances WHERE account_id = ${account}`
            return { balance: row?.balance_nano ?? 0n, reserved: row?.reserved_nano ?? 0n }
          }),
        reserve: (account, amount, budget) => {
          if (budget !== undefined) return query(() => reserveWithin(account, amount, budget))
          if (amount === 0n) return Effect.succeed({ account, amount, id: null })
          return Effect.suspend(() => {
            // From this node's slice of the balance: no round trip.
            const fromSlice = leases.fromSlice(account, amount)
            if (fromSlice !== undefined) return Effect.succeed(fromSlice)
            return query(async (): Promise<Hold | Balance> => {
              const reserved = await leases.reserve(account, amount)
              if ("lease" in reserved) return reserved
              if ("id" in reserved) return { account, amount, id: reserved.id }
              return { balance: reserved.balance, reserved: reserved.reserved }
            })
          })
        },
        keySpent: (key, since) =>
          query(async () => {
            const [row] = await sql<Array<{ spent: bigint }>>`
              SELECT COALESCE(SUM(spent_nano), 0)::bigint AS spent FROM key_spend WHERE key_id = ${key} AND day >= ${since}::integer`
            return row!.spent
          }),
        release,
        settle: ({ account, reservation, cost, key, record }) =>
          Effect.map(
            Effect.promise(() =>
              new Promise<Outcome>((resolve) => {
                let told = false
                const hold = reservation as Hold | undefined
                queue.push({
                  settleId: hold?.id ?? `set_${randomBase62(20)}`,
                  hold,
                  fromSlice: hold?.lease === undefined ? 0n : leases.settle(hold, cost),
                  account,
                  cost,
                  key,
                  // Every field but the cost, which the statement decides (and writes) itself.
                  record: record(cost),
                  tell: (outcome) => {
                    if (told) return
                    told = true
                    resolve(outcome)
                  }
                })
                if (queue.length === 1 && writing === undefined && retry === undefined) queueMicrotask(() => void commit())
              })
            ),
            (outcome) =>
              "written" in outcome
                ? { charged: outcome.written, committed: Effect.succeed(outcome.written) }
                : {
                  // Not yet written: at most the cost will be.
                  charged: cost,
                  committed: Effect.fail("kept" in outcome ? new ChargeKept(outcome.kept) : new ChargeFailed(outcome.failed))
                }
          ),
        credit: (account, amount, note) =>
          query(async () => {
            // Checked before binding: the balance's own check is in the statement that writes it.
            if (!withinMoneyLimit(amount)) return false
            const rows = await sql`
              WITH added AS (
                INSERT INTO balances (account_id, balance_nano) VALUES (${account}, ${amount}::bigint)
                ON CONFLICT (account_id) DO UPDATE SET balance_nano = balances.balance_nano + excluded.balance_nano
                WHERE balances.balance_nano + excluded.balance_nano BETWEEN ${-MONEY_LIMIT_NANO}::bigint AND ${MONEY_LIMIT_NANO}::bigint
                RETURNING account_id
              )
              INSERT INTO ledger (account_id, kind, amount_nano, note, created_at)
              SELECT account_id, 'credit', ${amount}::bigint, ${note}::text, ${Date.now()}::bigint FROM added RETURNING id`
            return rows.length > 0
          }),
        flush: () => Effect.promise(commit),
        pending: () => Effect.sync(() => kept.length + queue.length + inFlight),
        stopRetrying: () =>
          Effect.sync(() => {
            if (retry !== undefined) clearTimeout(retry)
            retry = undefined
          })
      })

      const usage = UsageRecords.of({
        list: (accountId, limit) =>
          query(async () =>
            (await sql<Array<UsageRow>>`SELECT * FROM usage_records WHERE account_id = ${accountId} ORDER BY seq DESC LIMIT ${limit}`).map(usageView)
          ),
        dailySpend: (accountId, days) =>
          query(async () => {
            const since = (Math.floor(Date.now() / DAY_MS) - days + 1) * DAY_MS
            const rows = await sql<Array<{ day: bigint; cost: bigint }>>`
              SELECT created_at / ${DAY_MS} AS day, SUM(cost_nano)::bigint AS cost FROM usage_records
              WHERE account_id = ${accountId} AND created_at >= ${since} GROUP BY day ORDER BY day`
            return rows.map((row) => ({ day: new Date(Number(row.day) * DAY_MS).toISOString().slice(0, 10), cost: row.cost }))
          }),
        spendBy: (by, days) =>
          query(async () => {
            const since = (Math.floor(Date.now() / DAY_MS) - days + 1) * DAY_MS
            const name = by === "account" ? sql`account_id` : sql`model`
            const rows = await sql<Array<{ day: bigint; name: string; cost: bigint }>>`
              SELECT created_at / ${DAY_MS} AS day, ${name} AS name, SUM(cost_nano)::bigint AS cost FROM usage_records
              WHERE created_at >= ${since} GROUP BY 1, 2 HAVING SUM(cost_nano) > 0 ORDER BY 1, 2`
            return rows.map((row) => ({ day: new Date(Number(row.day) * DAY_MS).toISOString().slice(0, 10), name: row.name, cost: row.cost }))
          })
      })

      return Context.make(Ledger, ledger).pipe(Context.add(UsageRecords, usage))
    })
  )
