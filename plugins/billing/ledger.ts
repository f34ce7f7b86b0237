import { decodeJournal, encodeEntry, journalHeader } from "./journal-entry.ts"
import { type Balance, type ChargeJournalShape, ChargeKept, type KeyBudget, type KeyBudgetSpent, type KeyCharge, migrate, MONEY_LIMIT_NANO, type Reservation, type SqlShape, STORE_LOCKED, StoreHealthState, storeRefusal, withinMoneyLimit } from "../../core/index.ts"

/**
 * Every account's money, in nano-USD.
 *
 * The ledger table is append-only and holds what moved money: `credit` (a top-up or, negative,
 * a correction) and `charge` (a request's real cost). `balances` holds each account's running
 * sum, updated in the same transaction as each entry, so the request path reads one row and
 * never scans the ledger; the ledger alone can always rebuild it. (Stores written before
 * reservations moved to memory also hold `reserve` and `release` rows; they moved no money.)
 *
 * Reservations, the money set aside while a request runs, live in memory: the relay is the one
 * process that serves from its store (it holds the store's serve lock), so its memory is the
 * authority on what is in flight, and a crash leaves nothing locked. Keeping them off the disk
 * takes a durable write off every request's path.
 *
 * A settle decides its charge at once (the request's cost, or what is left of the balance when
 * that is less) and holds it in place of the reservation; the charge is written with the other
 * settles of the same turn of the event loop, in one transaction (group commit: a commit per
 * request cost a Node relay at 1,500 requests per second about 110 us of CPU per request, a
 * fifth of its whole cost). `committed` tells the request when its charge is durable: the relay
 * sends the end of an answer only then, so a crash can lose no charge of an answer delivered.
 *
 * A charge the store refuses (a full disk, a read-only file, a lock held elsewhere) is kept in
 * memory, still held against the balance, and written again until the store takes it: exactly
 * once, since a refused transaction wrote nothing. Meanwhile `health` says the store refuses
 * writes, and billing admits no request it would have to charge.
 *
 * With a charge journal (the relay's own process, which holds the serve lock), a batch's
 * charges become durable by one append to the journal instead: `committed` resolves then, and
 * the batch is written into the store a little later (DEFER_MS, in larger batches under load),
 * off the answers' path, in one transaction that also records the highest journal sequence it
 * holds. Until then each charge stays held against its balance and key, as a kept one is, so
 * admission never counts its money twice. At start, what the journal holds above that mark is
 * written (exactly once, however often the relay crashed) and the journal emptied; it is
 * emptied again each time everything in it is in the store. Its first line names the store it
 * is for: a journal that names another (the store file was replaced or deleted under it) stops
 * the start, since its charges belong to accounts of that store. A refused append fails closed
 * as a refused commit does; a refused deferred write keeps the charges held and journaled, retried,
 * and `health` says the store refuses writes.
 */
const MIGRATIONS = [
  `CREATE TABLE ledger (
     id INTEGER PRIMARY KEY,
     account_id TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('credit', 'reserve', 'release', 'charge')),
     amount_nano INTEGER NOT NULL,
     reservation_id TEXT,
     request_id TEXT,
     note TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX ledger_by_account ON ledger (account_id, id);
   CREATE INDEX ledger_by_reservation ON ledger (reservation_id) WHERE reservation_id IS NOT NULL;
   CREATE TABLE balances (
     account_id TEXT PRIMARY KEY,
     balance_nano INTEGER NOT NULL DEFAULT 0,
     reserved_nano INTEGER NOT NULL DEFAULT 0
   )`,
  // Reservations moved to memory.
  `DROP INDEX ledger_by_reservation;
   ALTER TABLE balances DROP COLUMN reserved_nano`,
  // What each relay key was charged per UTC day, written with each charge: a key's spend over
  // its limit's period (a day, a week, a month, its lifetime) is the sum of a few rows.
  `CREATE TABLE key_spend (
     key_id TEXT NOT NULL,
     day INTEGER NOT NULL,
     spent_nano INTEGER NOT NULL,
     PRIMARY KEY (key_id, day)
   )`,
  // The highest charge-journal sequence written into the store, with the charges it covers.
  `CREATE TABLE charge_journal (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     applied_seq INTEGER NOT NULL
   );
   INSERT INTO charge_journal (id, applied_seq) VALUES (1, 0)`,
  // The store's own name, which its charge journal's first line repeats.
  `ALTER TABLE charge_journal ADD COLUMN store_id TEXT;
   UPDATE charge_journal SET store_id = lower(hex(randomblob(16))) WHERE id = 1`
]

/** How long admission trusts a balance it read, for writes by other processes. */
const FRESH_MS = 500

/** Waits between attempts to write charges the store refused: short first, then every second. */
const RETRY_MS = [10, 25, 50, 100, 250, 500, 1_000]

/**
 * How long a charge waits out a lock held by another process (a store command's write takes
 * milliseconds) before its request is told the store refuses it and admission stops.
 */
const LOCK_GRACE_MS = 1_000

/**
 * Records of requests that cost nothing (refusals, mostly) kept at most while the store refuses
 * writes: a client hammering an unwritable relay must not grow its memory without end. Charges
 * are never dropped; admission stops taking them.
 */
const MAX_KEPT_FREE = 10_000

/**
 * How long journaled charges wait to be written into the store: the most a reader of the store
 * in another process (the command line) sees it behind, and what lets one transaction take many.
 */
const DEFER_MS = 20

/** Journaled charges written into the store in one transaction at most: a few milliseconds' work. */
const WRITE_SLICE = 256

// The money types are the Ledger port's own; named here too, as this is where they are made.
export { type Balance, ChargeKept, type Reservation } from "../../core/index.ts"

/** A settled request: its charge, decided now, and its write, which rejects with `ChargeKept` while the store refuses it. */
export interface Settled {
  readonly charged: bigint
  readonly committed: Promise<bigint>
}

interface Hold extends Reservation {
  open: boolean
}


interface PendingSettle {
  /** Its place in the charge journal; 0 until appended (and without a journal). */
  seq: number
  /** What its usage record is written from, kept in the journal. */
  readonly memo: unknown
  readonly account: string
  readonly hold: Hold | undefined
  readonly cost: bigint
  readonly charged: bigint
  readonly requestId: string
  readonly key: KeyCharge | undefined
  readonly also: (charged: bigint) => void
  readonly resolve: (charged: bigint) => void
  readonly reject: (error: unknown) => void
  /** Its request was told the store refused it (it is told once). */
  told: boolean
  /** When it was settled. */
  readonly since: number
}

export interface LedgerOptions {
  readonly now?: () => number
  /**
   * Runs the group commit; by default in a microtask, once the code that settles is done: the
   * pipeline settles every request that finished in one turn of the event loop together, so
   * their charges make one transaction, and none waits a turn of the loop more for it.
   */
  readonly schedule?: (commit: () => void) => void
  /** Where refusals and recoveries are reported (admission, /healthz and /metrics read it). */
  readonly health?: StoreHealthState
  /** Told when the store refuses charges and when it takes them again. */
  readonly report?: (event: { readonly refused?: string; readonly kept: number; readonly recovered?: number; readonly dropped?: number }) => void
  /** Where charges become durable first; without it, each batch is committed to the store. */
  readonly journal?: LedgerJournal
}

export interface LedgerJournal {
  readonly file: ChargeJournalShape
  /** Writes a usage record from its settle's memo, for a charge replayed from the journal. */
  readonly replay: (memo: unknown, charged: bigint) => void
  /** Runs the deferred write into the store; by default DEFER_MS later. */
  readonly defer?: (write: () => void) => void
}

export const makeLedger = (sql: SqlShape, options: LedgerOptions = {}) => {
  const now = options.now ?? Date.now
  const schedule = options.schedule ?? queueMicrotask
  const health = options.health ?? new StoreHealthState()
  migrate(sql, "billing.ledger", MIGRATIONS)
  const append = sql.prepare("INSERT INTO ledger (account_id, kind, amount_nano, request_id, note, created_at) VALUES (?, ?, ?, ?, ?, ?)")
  const ensure = sql.prepare("INSERT INTO balances (account_id) VALUES (?) ON CONFLICT (account_id) DO NOTHING")
  const read = sql.prepare("SELECT balance_nano FROM balances WHERE account_id = ?", { bigints: true })
  // Adds `delta` (bound twice) only if the balance stays within MONEY_LIMIT_NANO: SQLite would
  // store an overflowing sum as a REAL, silently. Checked in the statement that writes it, so no
  // other writer can come between. A charge, capped at the balance, always stays within.
  const addBalance = sql.prepare(
    `UPDATE balances SET balance_nano = balance_nano + ?
     WHERE account_id = ? AND balance_nano + ? BETWEEN -${MONEY_LIMIT_NANO} AND ${MONEY_LIMIT_NANO}`
  )
  const addKeySpend = sql.prepare(
    "INSERT INTO key_spend (key_id, day, spent_nano) VALUES (?, ?, ?) ON CONFLICT (key_id, day) DO UPDATE SET spent_nano = spent_nano + excluded.spent_nano"
  )
  const keySpentSince = sql.prepare("SELECT COALESCE(SUM(spent_nano), 0) AS spent FROM key_spend WHERE key_id = ? AND day >= ?", { bigints: true })
  const readAppliedSeq = sql.prepare("SELECT applied_seq FROM charge_journal WHERE id = 1")
  const setAppliedSeq = sql.prepare("UPDATE charge_journal SET applied_seq = ? WHERE id = 1 AND applied_seq < ?")
  const readApplied = () => readAppliedSeq.get<{ applied_seq: number }>()!.applied_seq
  const storeId = sql.prepare("SELECT store_id FROM charge_journal WHERE id = 1").get<{ store_id: string }>()!.store_id
  /** Inside a write's transaction: the store now holds the journal's entries up to the batch's last. */
  const markApplied = (batch: ReadonlyArray<PendingSettle>) => {
    const last = batch.at(-1)!.seq
    if (last > 0) setAppliedSeq.run(last, last)
  }
  const sums = sql.prepare(
    `SELECT COALESCE(SUM(CASE kind WHEN 'credit' THEN amount_nano WHEN 'charge' THEN -amount_nano END), 0) AS balance
     FROM ledger WHERE account_id = ?`,
    { bigints: true }
  )

  /** Money held per account by open reservations and by charges not yet written. */
  const held = new Map<string, bigint>()
  const heldBy = (account: string) => held.get(account) ?? 0n
  /** The same per relay key with a spend limit (the holds of its requests, not yet charged). */
  const keyHeld = new Map<string, bigint>()
  const heldByKey = (key: string) => keyHeld.get(key) ?? 0n
  const shift = (map: Map<string, bigint>, name: string, delta: bigint) => {
    const left = (map.get(name) ?? 0n) + delta
    if (left === 0n) map.delete(name)
    else map.set(name, left)
  }
  const adjust = (hold: Reservation, sign: 1n | -1n) => {
    shift(held, hold.account, sign * hold.amount)
    if (hold.key !== undefined) shift(keyHeld, hold.key, sign * hold.amount)
  }
  const release = (hold: Hold | undefined) => {
    if (hold === undefined || !hold.open) return
    hold.open = false
    adjust(hold, -1n)
  }
  const rehold = (hold: Hold | undefined) => {
    if (hold === undefined || hold.open) return
    hold.open = true
    adjust(hold, 1n)
  }
  const keySpentStored = (key: string, since: number) => keySpentSince.get<{ spent: bigint }>(key, since)!.spent
  const stored = (account: string) => read.get<{ balance_nano: bigint }>(account)?.balance_nano ?? 0n

  /**
   * Balances as last read, for admission. This process's own writes drop an account's entry;
   * another process's (a credit from the command line) shows within `FRESH_MS`. A SQLite read
   * takes file locks (system calls), and admission runs on every request.
   */
  const known = new Map<string, { readonly balance: bigint; readonly at: number }>()
  const admissionBalance = (account: string) => {
    const at = now()
    const hit = known.get(account)
    if (hit !== undefined && at - hit.at < FRESH_MS) return hit.balance
    const balance = stored(account)
    known.set(account, { balance, at })
    return balance
  }

  /** At most `wanted`: what the balance has beyond what others hold. */
  const capped = (wanted: bigint, available: bigint) => (wanted <= available ? wanted : available > 0n ? available : 0n)

  /**
   * What one transaction's charges move, summed: each account's balance and each key's spend
   * per day are read from the store once and written once, however many charges of the batch
   * touch them (a busy key's charges would otherwise make three more statements each).
   */
  class BatchSums {
    private readonly balances = new Map<string, { balance: bigint; moved: bigint }>()
    private readonly spends = new Map<string, { readonly key: string; readonly day: number; amount: bigint }>()

    /** The account's balance as stored, less this batch's charges so far. */
    balance(account: string): bigint {
      let entry = this.balances.get(account)
      if (entry === undefined) this.balances.set(account, entry = { balance: stored(account), moved: 0n })
      return entry.balance
    }

    charge(account: string, amount: bigint): void {
      const entry = this.balances.get(account)!
      entry.balance -= amount
      entry.moved -= amount
    }

    /** The key's spend since `since` as stored, with this batch's so far. */
    keySpent(key: string, since: number): bigint {
      let spent = keySpentStored(key, since)
      for (const entry of this.spends.values()) if (entry.key === key && entry.day >= since) spent += entry.amount
      return spent
    }

    spend(key: string, day: number, amount: bigint): void {
      const name = `${day}:${key}`
      const entry = this.spends.get(name)
      if (entry === undefined) this.spends.set(name, { key, day, amount })
      else entry.amount += amount
    }

    write(): void {
      for (const [account, { moved }] of this.balances) if (moved !== 0n) addBalance.run(moved, account, moved)
      for (const { key, day, amount } of this.spends.values()) addKeySpend.run(key, day, amount)
    }
  }

  /** One charge, inside the commit's transaction, against the balance as stored and the batch's charges before it. */
  const apply = ({ account, cost, charged: decided, requestId, key, also }: PendingSettle, sums: BatchSums): bigint => {
    // Only a correction written meanwhile by another process can leave less than was decided.
    const charged = capped(decided, sums.balance(account) - heldBy(account))
    if (charged > 0n) {
      append.run(account, "charge", charged, requestId, charged < cost ? `capped from ${cost}` : null, now())
      sums.charge(account, charged)
      if (key !== undefined) {
        // The charges of the batch before this one are counted.
        const counted = key.limit === undefined ? charged : capped(charged, key.limit.amount - sums.keySpent(key.id, key.limit.since))
        if (counted > 0n) sums.spend(key.id, key.day, counted)
      }
    }
    also(charged)
    return charged
  }

  /** Charges refused (by the store, or by the journal when there is one), oldest first, written before any newer one. */
  let kept: Array<PendingSettle> = []
  let queue: Array<PendingSettle> = []
  /** Charges in the journal, not yet in the store (held meanwhile), oldest first. */
  let journaled: Array<PendingSettle> = []
  let retry: ReturnType<typeof setTimeout> | undefined
  let attempts = 0
  /** Free records in `kept`, and those dropped past MAX_KEPT_FREE since the store last took writes. */
  let keptFree = 0
  let dropped = 0

  /**
   * Writes `batch` in one transaction against the balances as stored (so their holds are let
   * go first, and taken again if the write fails), with the highest journal sequence in it.
   * Returns the error when it was not written.
   */
  const write = (batch: ReadonlyArray<PendingSettle>): { readonly charged: Array<bigint> } | { readonly error: unknown } => {
    for (const pending of batch) release(pending.hold)
    try {
      return {
        charged: sql.transaction(() => {
          const sums = new BatchSums()
          const charged = batch.map((pending) => apply(pending, sums))
          sums.write()
          markApplied(batch)
          return charged
        })
      }
    } catch (error) {
      for (const pending of batch) rehold(pending.hold)
      return { error }
    }
  }

  /**
   * Writes `batch` into the store, telling each settle it wrote. Those the store refuses go to
   * `refusedOne`; the refusal is returned.
   */
  const store = (batch: ReadonlyArray<PendingSettle>, refusedOne: (pending: PendingSettle, reason: string) => void): string | undefined => {
    for (const pending of batch) known.delete(pending.account)
    const result = write(batch)
    if ("charged" in result) {
      batch.forEach((pending, i) => pending.resolve(result.charged[i]!))
      return undefined
    }
    const refusal = storeRefusal(result.error)
    if (refusal !== undefined) {
      for (const pending of batch) refusedOne(pending, refusal)
      return refusal
    }
    // Not the store but one settle (its usage record, say) failed: each on its own, so it
    // costs no other its charge.
    let refused: string | undefined
    for (const pending of batch) {
      // Written in order, so that the store's journal mark never passes a charge it lacks.
      if (refused !== undefined) {
        refusedOne(pending, refused)
        continue
      }
      const alone = write([pending])
      if ("charged" in alone) {
        pending.resolve(alone.charged[0]!)
        continue
      }
      const reason = storeRefusal(alone.error)
      if (reason !== undefined) {
        refused = reason
        refusedOne(pending, reason)
        continue
      }
      // A journaled charge's answer has been delivered: it is charged, without the record
      // that cannot be written, rather than not at all.
      if (pending.seq > 0) {
        const bare = write([{ ...pending, also: () => {} }])
        if ("charged" in bare) continue
      }
      // Its charge cannot be written, ever; its request's usage record still is, charging
      // nothing, and its money is freed (it would otherwise stay held for good).
      release(pending.hold)
      pending.reject(alone.error)
      try {
        sql.transaction(() => {
          pending.also(0n)
          markApplied([pending])
        })
      } catch {}
    }
    return refused
  }

  const keep = (pending: PendingSettle, reason: string) => {
    if (pending.charged === 0n) {
      if (keptFree >= MAX_KEPT_FREE) {
        dropped++
        pending.reject(new ChargeKept(reason))
        return
      }
      keptFree++
    }
    kept.push(pending)
    if (reason === STORE_LOCKED && now() - pending.since < LOCK_GRACE_MS) return
    // Told once: the request stops waiting; its charge does not stop being written.
    if (pending.told) return
    pending.told = true
    pending.reject(new ChargeKept(reason))
  }

  /** A write was refused; `waitedOut` once it counts as the store refusing (a lock only after LOCK_GRACE_MS). */
  const refusedNow = (reason: string, waitedOut: boolean) => {
    health.attemptRefused()
    if (waitedOut && health.refused(reason)) options.report?.({ refused: reason, kept: kept.length + journaled.length })
    health.setKept(kept.length + journaled.length)
    if (retry === undefined) {
      retry = setTimeout(() => {
        retry = undefined
        commit()
      }, RETRY_MS[Math.min(attempts++, RETRY_MS.length - 1)])
    }
  }

  const recovered = (written: number) => {
    attempts = 0
    health.setKept(0)
    if (health.recovered()) options.report?.({ kept: 0, recovered: written, dropped })
    dropped = 0
  }

  /** Takes the kept charges and the queued ones, oldest first: each is written against the balance the one before left. */
  const takeWaiting = () => {
    const earlier = kept
    const batch = earlier.length === 0 ? queue : earlier.concat(queue)
    kept = []
    queue = []
    keptFree = 0
    return { batch, earlier: earlier.length }
  }

  /** Without a journal: the waiting charges in one transaction, durable once it commits. */
  const commitToStore = (): void => {
    if (queue.length === 0 && kept.length === 0) return
    const { batch, earlier } = takeWaiting()
    const refused = store(batch, keep)
    if (refused !== undefined) return refusedNow(refused, kept.some((pending) => pending.told))
    recovered(earlier)
  }

  const journal = options.journal
  const defer = journal?.defer ?? ((write: () => void) => void setTimeout(write, DEFER_MS))
  let nextSeq = 1
  let writeScheduled = false
  let torn = false
  /** The journal is empty (or its header's append failed): the next append starts with the header. */
  let headed = false

  /** With a journal: the waiting charges in one append, durable once it returns; into the store later. */
  const appendToJournal = (file: ChargeJournalShape): void => {
    if (queue.length === 0 && kept.length === 0) return
    const { batch } = takeWaiting()
    let lines = headed ? "" : journalHeader(storeId)
    for (const pending of batch) {
      // A kept charge keeps its sequence: should its first append have reached the file after
      // all, replay writes it once.
      if (pending.seq === 0) pending.seq = nextSeq++
      lines += encodeEntry(pending)
    }
    try {
      // A failed append may have left a torn line: start on a line of its own, so the torn one
      // stays unreadable alone instead of spoiling this batch's first entry.
      file.append(torn ? `\n${lines}` : lines)
      torn = false
      headed = true
    } catch (error) {
      torn = true
      const reason = storeRefusal(error) ?? (error instanceof Error ? error.message : "the charge journal cannot be written")
      for (const pending of batch) keep(pending, reason)
      return refusedNow(reason, kept.some((pending) => pending.told))
    }
    for (const pending of batch) {
      pending.resolve(pending.charged)
      journaled.push(pending)
    }
    if (!writeScheduled && retry === undefined) {
      writeScheduled = true
      defer(() => {
        writeScheduled = false
        writeJournaled(file, WRITE_SLICE)
      })
    }
  }

  /**
   * Writes the journaled charges into the store, at most `most` in one transaction: thousands
   * of streams that end together would otherwise make one write that holds the event loop for
   * tens of milliseconds. The rest follow in the loop's next turns, in order, so the store's
   * journal mark only moves forward. Once all are written the journal holds nothing the store
   * lacks.
   */
  const writeJournaled = (file: ChargeJournalShape, most = Infinity): void => {
    if (journaled.length === 0) return
    const batch = journaled.length <= most ? journaled : journaled.slice(0, most)
    journaled = batch === journaled ? [] : journaled.slice(batch.length)
    const back: Array<PendingSettle> = []
    const refused = store(batch, (pending) => back.push(pending))
    if (refused !== undefined) {
      journaled = back.concat(journaled)
      // The requests have their answers; a lock counts as the store refusing once waited out.
      return refusedNow(refused, refused !== STORE_LOCKED || now() - back[0]!.since >= LOCK_GRACE_MS)
    }
    if (journaled.length > 0) {
      if (!writeScheduled) {
        writeScheduled = true
        setImmediate(() => {
          writeScheduled = false
          writeJournaled(file, most)
        })
      }
      return
    }
    try {
      file.clear()
      headed = false
    } catch {
      // Left as it is: what it holds is at or below the store's mark, so replay skips it.
    }
    if (kept.length === 0) recovered(batch.length)
  }

  /** What a turn's settles run: the journal's append, or without one the store's commit. */
  const settleWaiting = (): void => (journal === undefined ? commitToStore() : appendToJournal(journal.file))

  /** Everything waiting, into the store now: before a read that must see every settle. */
  const commit = (): void => {
    if (journal === undefined) return commitToStore()
    appendToJournal(journal.file)
    writeJournaled(journal.file)
  }

  if (journal !== undefined) {
    // This process is the one writer of charges (it holds the serve lock): what the journal
    // holds above the store's mark was delivered (or kept) and never written. A refusal here
    // stops the start: the relay does not serve while charges it owes are unwritten.
    const applied = readApplied()
    const { entries, stores } = decodeJournal(journal.file.read())
    const foreign = [...stores].filter((store) => store !== storeId)
    if (foreign.length > 0 && entries.length > 0) {
      throw new Error(
        `the charge journal beside the store holds ${entries.length} charge(s) of another store (${foreign.join(", ")}), not of this one (${storeId}): ` +
          "the store file was replaced or deleted while charges waited in the journal. Put the journal back beside the store it names " +
          "(a relay started there writes them), or move it away to start without them"
      )
    }
    const owed = entries.filter((entry) => entry.seq > applied)
    if (owed.length > 0) {
      const replay = journal.replay
      const refused = store(owed.map((entry) => ({
        ...entry,
        hold: undefined,
        also: (charged: bigint) => replay(entry.memo, charged),
        resolve: () => {},
        reject: () => {},
        told: true,
        since: now()
      })), () => {})
      if (refused !== undefined) throw new Error(`the charge journal cannot be written into the store: ${refused}`)
    }
    journal.file.clear()
    nextSeq = Math.max(applied, owed.at(-1)?.seq ?? 0) + 1
  }
  /** What a key's budget says to holding `amount` more: nothing when it fits. */
  const keyRefusal = (budget: KeyBudget, amount: bigint): KeyBudgetSpent | undefined => {
    // A key's spend is read from the store every time: only keys with a limit pay for it.
    const spent = keySpentStored(budget.key, budget.since)
    const reserved = heldByKey(budget.key)
    // A key at its limit is refused even a request that would cost nothing.
    if (spent + reserved + amount <= budget.limit && spent + reserved < budget.limit) return undefined
    // Charges journaled but not yet in the store are held at their whole amount, whatever their
    // day and the key's limit: written first, they count as the store counts them (only a
    // refusal pays for that), and the refusal tells spent from held by requests in flight.
    if (journal !== undefined && journaled.length + queue.length > 0) {
      commit()
      if (journaled.length + queue.length === 0) return keyRefusal(budget, amount)
    }
    return { key: budget.key, limit: budget.limit, spent, reserved }
  }

  return {
    balance: (account: string): Balance => ({ balance: stored(account), reserved: heldBy(account) }),

    /**
     * Adds a top-up or a correction (negative); never overwrites. False, with nothing written,
     * when the amount or the balance it would leave is beyond MONEY_LIMIT_NANO. Throws when the
     * store refuses the write.
     */
    credit(account: string, amount: bigint, note: string | null): boolean {
      // Checked before binding: a driver may refuse a bigint past 64 bits, or wrap it around.
      if (!withinMoneyLimit(amount)) return false
      known.delete(account)
      return sql.transaction(() => {
        ensure.run(account)
        if (addBalance.run(amount, account, amount).changes === 0) return false
        append.run(account, "credit", amount, null, note, now())
        return true
      })
    },

    /**
     * Sets `amount` aside if the balance minus what is already reserved covers it, else returns
     * the balance. Check and hold happen in one synchronous step, so concurrent requests can
     * never together overdraw.
     */
    reserve(account: string, amount: bigint, budget?: KeyBudget): Reservation | Balance | KeyBudgetSpent {
      if (budget !== undefined) {
        const refusal = keyRefusal(budget, amount)
        if (refusal !== undefined) return refusal
      }
      const balance = admissionBalance(account)
      const reserved = heldBy(account)
      if (balance - reserved < amount) return { balance, reserved }
      const hold: Hold = { account, amount, key: budget?.key, open: true }
      adjust(hold, 1n)
      return hold
    },

    /** What a key was charged from UTC day `since` on, as written (`commit` first to see every settle). */
    keySpent: (key: string, since: number): bigint => keySpentStored(key, since),

    /** Lets a reservation go, charging nothing. */
    release: (reservation: Reservation): void => release(reservation as Hold),

    /**
     * Releases a reservation (if any) and charges `cost`: decided now and held, written at the
     * end of this turn of the event loop in one transaction with `also` (the usage record, which
     * is told the amount; told 0 on its own when the charge can never be written). A charge
     * never takes the balance below zero, nor below what other requests hold: past that, it
     * stops at what is available.
     */
    settle(account: string, reservation: Reservation | undefined, cost: bigint, requestId: string, also: (charged: bigint) => void, key?: KeyCharge, memo?: unknown): Settled {
      release(reservation as Hold | undefined)
      let charged = capped(cost, admissionBalance(account) - heldBy(account))
      // Short of the cost on a balance read earlier: read it again before capping the charge.
      if (charged < cost) {
        known.delete(account)
        charged = capped(cost, admissionBalance(account) - heldBy(account))
      }
      let hold: Hold | undefined
      if (charged > 0n) {
        // Held against the key too until written, so its spend counts at once.
        hold = { account, amount: charged, key: key?.id, open: true }
        adjust(hold, 1n)
      }
      const committed = new Promise<bigint>((resolve, reject) => {
        // While charges are kept, the retry writes the new ones with them. (With a journal, a
        // retry of the store's write does not hold up the appends.)
        if (queue.length === 0 && (journal === undefined ? retry === undefined : kept.length === 0)) schedule(settleWaiting)
        queue.push({ seq: 0, memo, account, hold, cost, charged, requestId, key, also, resolve, reject, told: false, since: now() })
      })
      return { charged, committed }
    },

    /** Writes the charges waiting now, instead of at the scheduled time: before a read. */
    commit,

    /** Charges waiting to be written into the store (kept after a refusal, queued, or journaled). */
    get pending(): number {
      return kept.length + queue.length + journaled.length
    },

    /** Stops retrying on a timer (the relay is closing; a last `commit` may still write them). */
    stopRetrying(): void {
      if (retry !== undefined) clearTimeout(retry)
      retry = undefined
    },

    /** The balance recomputed from the ledger alone. */
    fromLedger: (account: string): bigint => sums.get<{ balance: bigint }>(account)!.balance
  }
}

export type Ledger = ReturnType<typeof makeLedger>
