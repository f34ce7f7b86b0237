import { migrate, randomBase62, type SqlShape } from "../../core/index.ts"

/**
 * The append-only ledger of every account's money, in nano-USD:
 * - `credit`: a top-up (or, negative, a correction) added to the balance;
 * - `reserve` / `release`: money set aside before a request and freed at its settle;
 * - `charge`: the request's real cost, taken from the balance.
 * `balances` holds the running sums (balance = credits - charges, reserved = reserves -
 * releases), updated in the same transaction as each entry, so the request path reads one row
 * and never scans the ledger; the ledger alone can always rebuild it.
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
   )`
]

export interface Balance {
  readonly balance: bigint
  readonly reserved: bigint
}

export interface Reservation {
  readonly id: string
  readonly account: string
  readonly amount: bigint
}

export const makeLedger = (sql: SqlShape, now: () => number = Date.now) => {
  migrate(sql, "billing.ledger", MIGRATIONS)
  const append = sql.prepare(
    "INSERT INTO ledger (account_id, kind, amount_nano, reservation_id, request_id, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
  )
  const ensure = sql.prepare("INSERT INTO balances (account_id) VALUES (?) ON CONFLICT (account_id) DO NOTHING")
  const read = sql.prepare("SELECT balance_nano, reserved_nano FROM balances WHERE account_id = ?", { bigints: true })
  const addBalance = sql.prepare("UPDATE balances SET balance_nano = balance_nano + ? WHERE account_id = ?")
  const addReserved = sql.prepare("UPDATE balances SET reserved_nano = reserved_nano + ? WHERE account_id = ?")
  const addBoth = sql.prepare("UPDATE balances SET balance_nano = balance_nano + ?, reserved_nano = reserved_nano + ? WHERE account_id = ?")
  const open = sql.prepare(
    `SELECT r.reservation_id AS id, r.account_id AS account, r.amount_nano AS amount FROM ledger r
     WHERE r.kind = 'reserve' AND NOT EXISTS (
       SELECT 1 FROM ledger x WHERE x.kind = 'release' AND x.reservation_id = r.reservation_id)`,
    { bigints: true }
  )
  const sums = sql.prepare(
    `SELECT
       COALESCE(SUM(CASE kind WHEN 'credit' THEN amount_nano WHEN 'charge' THEN -amount_nano END), 0) AS balance,
       COALESCE(SUM(CASE kind WHEN 'reserve' THEN amount_nano WHEN 'release' THEN -amount_nano END), 0) AS reserved
     FROM ledger WHERE account_id = ?`,
    { bigints: true }
  )

  /** The account's running sums; undefined when it never had a ledger entry. */
  const row = (account: string): Balance | undefined => {
    const found = read.get<{ balance_nano: bigint; reserved_nano: bigint }>(account)
    return found === undefined ? undefined : { balance: found.balance_nano, reserved: found.reserved_nano }
  }
  const balanceOf = (account: string): Balance => row(account) ?? { balance: 0n, reserved: 0n }

  return {
    balance: balanceOf,

    /** Adds a top-up or a correction (negative); never overwrites. */
    credit(account: string, amount: bigint, note: string | null): void {
      sql.transaction(() => {
        ensure.run(account)
        append.run(account, "credit", amount, null, null, note, now())
        addBalance.run(amount, account)
      })
    },

    /**
     * Sets `amount` aside if the balance minus what is already reserved covers it. Check and
     * entry share one transaction, so concurrent requests can never together overdraw.
     */
    reserve(account: string, amount: bigint, requestId: string): Reservation | Balance {
      return sql.transaction(() => {
        const current = row(account)
        const sums = current ?? { balance: 0n, reserved: 0n }
        if (sums.balance - sums.reserved < amount) return sums
        // The running-sums row exists once the account had any entry; only the first needs it made.
        if (current === undefined) ensure.run(account)
        const id = `res_${randomBase62(20)}`
        append.run(account, "reserve", amount, id, requestId, null, now())
        addReserved.run(amount, account)
        return { id, account, amount }
      })
    },

    /**
     * Releases a reservation (if any) and charges `cost`, in one transaction with `also` (the
     * usage record, which is told the amount charged). A charge never takes the balance below
     * zero: when the real cost passes what the account has, the charge stops at its balance.
     * Returns the amount charged.
     */
    settle(
      account: string,
      reservation: Reservation | undefined,
      cost: bigint,
      requestId: string,
      also: (charged: bigint) => void
    ): bigint {
      return sql.transaction(() => {
        // One read and one update of the running sums: the settle is on every request's path.
        const current = balanceOf(account)
        const released = reservation?.amount ?? 0n
        const available = current.balance - (current.reserved - released)
        const charged = cost <= available ? cost : available > 0n ? available : 0n
        if (reservation !== undefined) append.run(account, "release", released, reservation.id, requestId, null, now())
        if (charged > 0n) {
          append.run(account, "charge", charged, reservation?.id ?? null, requestId, charged < cost ? `capped from ${cost}` : null, now())
        }
        if (released > 0n || charged > 0n) addBoth.run(-charged, -released, account)
        also(charged)
        return charged
      })
    },

    /** Releases reservations left open by a crash: nothing stays locked across a restart. */
    releaseOpen(): Array<Reservation> {
      return sql.transaction(() => {
        const stale = open.all<Reservation>()
        for (const reservation of stale) {
          append.run(reservation.account, "release", reservation.amount, reservation.id, null, "released at start", now())
          addReserved.run(-reservation.amount, reservation.account)
        }
        return stale
      })
    },

    /** The balance recomputed from the ledger alone. */
    fromLedger(account: string): Balance {
      const row = sums.get<{ balance: bigint; reserved: bigint }>(account)!
      return { balance: row.balance, reserved: row.reserved }
    }
  }
}

export type Ledger = ReturnType<typeof makeLedger>
