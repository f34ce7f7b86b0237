import { migrate, MONEY_LIMIT_NANO, type SqlShape, withinMoneyLimit } from "../../core/index.ts"

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
 * process that serves from its store, so its memory is the authority on what is in flight, and
 * a crash leaves nothing locked. Keeping them off the disk takes a durable write off every
 * request's path.
 *
 * A settle decides its charge at once (the request's cost, or what is left of the balance when
 * that is less) and holds it in place of the reservation; the charge is written later, with
 * the other settles of GROUP_COMMIT_MS, in one transaction. A commit per request cost a Node
 * relay at 1,500 requests per second about 110 us of CPU per request, a fifth of its whole
 * cost. Nothing can be reserved against a held charge, and whoever reads money or usage
 * commits first (`commit`). A process killed outright loses the charges of its last
 * GROUP_COMMIT_MS; a relay that closes commits them.
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
   ALTER TABLE balances DROP COLUMN reserved_nano`
]

export interface Balance {
  readonly balance: bigint
  /** Held by requests in flight. */
  readonly reserved: bigint
}

export interface Reservation {
  readonly account: string
  readonly amount: bigint
}

/** How long admission trusts a balance it read, for writes by other processes. */
const FRESH_MS = 500

/** How long a charge may wait to be written with others. */
export const GROUP_COMMIT_MS = 10

/** A settled request: its charge, decided now, and when it is written. */
export interface Settled {
  readonly charged: bigint
  /** The amount written (less than `charged` only if the balance fell meanwhile). */
  readonly committed: Promise<bigint>
}

interface Hold extends Reservation {
  open: boolean
}

interface PendingSettle {
  readonly account: string
  readonly hold: Hold | undefined
  readonly cost: bigint
  readonly charged: bigint
  readonly requestId: string
  readonly also: (charged: bigint) => void
  readonly resolve: (charged: bigint) => void
  readonly reject: (error: unknown) => void
}

/** `schedule` runs the group commit; by default GROUP_COMMIT_MS after the first charge queued. */
export const makeLedger = (
  sql: SqlShape,
  now: () => number = Date.now,
  schedule: (commit: () => void) => void = (commit) => void setTimeout(commit, GROUP_COMMIT_MS)
) => {
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
  const sums = sql.prepare(
    `SELECT COALESCE(SUM(CASE kind WHEN 'credit' THEN amount_nano WHEN 'charge' THEN -amount_nano END), 0) AS balance
     FROM ledger WHERE account_id = ?`,
    { bigints: true }
  )

  /** Money held per account by open reservations. */
  const held = new Map<string, bigint>()
  const heldBy = (account: string) => held.get(account) ?? 0n
  const release = (hold: Hold | undefined) => {
    if (hold === undefined || !hold.open) return
    hold.open = false
    const left = heldBy(hold.account) - hold.amount
    if (left === 0n) held.delete(hold.account)
    else held.set(hold.account, left)
  }
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

  /** One charge, inside the commit's transaction, against the balance as stored. */
  const apply = ({ account, cost, charged: decided, requestId, also }: PendingSettle): bigint => {
    // Only a correction written meanwhile by another process can leave less than was decided.
    const charged = capped(decided, stored(account) - heldBy(account))
    if (charged > 0n) {
      append.run(account, "charge", charged, requestId, charged < cost ? `capped from ${cost}` : null, now())
      addBalance.run(-charged, account, -charged)
    }
    also(charged)
    return charged
  }

  let queue: Array<PendingSettle> = []
  const commit = () => {
    // A read may have committed the queue before its scheduled time.
    if (queue.length === 0) return
    const batch = queue
    queue = []
    // Each is written against the balance the one before left, so their holds go first; one
    // that cannot be written frees its money too (a lost charge beats a locked account).
    for (const pending of batch) release(pending.hold)
    for (const pending of batch) known.delete(pending.account)
    try {
      const charged = sql.transaction(() => batch.map(apply))
      batch.forEach((pending, i) => pending.resolve(charged[i]!))
    } catch {
      // One settle that cannot be written must not cost the others theirs: each on its own.
      for (const pending of batch) {
        try {
          pending.resolve(sql.transaction(() => apply(pending)))
        } catch (error) {
          pending.reject(error)
          // Its charge is lost, not its request's usage record: that is written alone, charging
          // nothing. Should it fail too, the rejection has reported why.
          try {
            pending.also(0n)
          } catch {}
        }
      }
    }
  }

  return {
    balance: (account: string): Balance => ({ balance: stored(account), reserved: heldBy(account) }),

    /**
     * Adds a top-up or a correction (negative); never overwrites. False, with nothing written,
     * when the amount or the balance it would leave is beyond MONEY_LIMIT_NANO.
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
    reserve(account: string, amount: bigint): Reservation | Balance {
      const balance = admissionBalance(account)
      const reserved = heldBy(account)
      if (balance - reserved < amount) return { balance, reserved }
      held.set(account, reserved + amount)
      const hold: Hold = { account, amount, open: true }
      return hold
    },

    /**
     * Releases a reservation (if any) and charges `cost`: decided now and held, written within
     * GROUP_COMMIT_MS in one transaction with `also` (the usage record, which is told the
     * amount; told 0 on its own when the charge cannot be written). A charge never takes the
     * balance below zero, nor below what other requests hold: past that, it stops at what is
     * available.
     */
    settle(account: string, reservation: Reservation | undefined, cost: bigint, requestId: string, also: (charged: bigint) => void): Settled {
      release(reservation as Hold | undefined)
      let charged = capped(cost, admissionBalance(account) - heldBy(account))
      // Short of the cost on a balance read earlier: read it again before capping the charge.
      if (charged < cost) {
        known.delete(account)
        charged = capped(cost, admissionBalance(account) - heldBy(account))
      }
      let hold: Hold | undefined
      if (charged > 0n) {
        hold = { account, amount: charged, open: true }
        held.set(account, heldBy(account) + charged)
      }
      const committed = new Promise<bigint>((resolve, reject) => {
        if (queue.length === 0) schedule(commit)
        queue.push({ account, hold, cost, charged, requestId, also, resolve, reject })
      })
      return { charged, committed }
    },

    /** Writes the charges waiting now, instead of at the scheduled time: before a read. */
    commit,

    /** The balance recomputed from the ledger alone. */
    fromLedger: (account: string): bigint => sums.get<{ balance: bigint }>(account)!.balance
  }
}

export type Ledger = ReturnType<typeof makeLedger>
