import assert from "node:assert/strict"
import { describe, it } from "node:test"
import fc from "fast-check"
import type { KeyBudgetSpent } from "../../core/index.ts"
import { type Balance, ChargeKept, makeLedger, type Reservation } from "../../plugins/billing/ledger.ts"
import { StoreHealthState } from "../../core/index.ts"
import { openNodeStore } from "../../runtime/node-store.ts"
import { MONEY_LIMIT_NANO, type SqlShape } from "../../core/index.ts"

const NOW = 1_700_000_000_000
const USD = 1_000_000_000n

interface LedgerRow {
  id: bigint
  account_id: string
  kind: string
  amount_nano: bigint
  reservation_id: string | null
  request_id: string | null
  note: string | null
  created_at: bigint
}

/**
 * A ledger on a fresh in-memory store whose ledger table refuses any UPDATE or DELETE. Its
 * group commit runs only when the test calls `commit`, so each test decides what one
 * transaction holds.
 */
const fresh = (sql: SqlShape = openNodeStore(":memory:")) => {
  const ledger = makeLedger(sql, { now: () => NOW, schedule: () => {} })
  sql.exec(`CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger rows are never updated'); END;
            CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger rows are never deleted'); END;`)
  const rows = () => sql.prepare("SELECT * FROM ledger ORDER BY id", { bigints: true }).all<LedgerRow>()
  return { sql, ledger, rows }
}

const isReservation = (value: Reservation | Balance | KeyBudgetSpent): value is Reservation => "account" in value

const reserve = (ledger: ReturnType<typeof makeLedger>, account: string, amount: bigint) => {
  const result = ledger.reserve(account, amount)
  assert.ok(isReservation(result), `reserving ${amount} should succeed`)
  return result
}

/** Settles and commits at once; the amount charged. */
const settleNow = (
  ledger: ReturnType<typeof makeLedger>,
  account: string,
  reservation: Reservation | undefined,
  cost: bigint,
  requestId = "req",
  also: (charged: bigint) => void = () => {}
) => {
  const { committed } = ledger.settle(account, reservation, cost, requestId, also)
  ledger.commit()
  return committed
}

describe("ledger credit", () => {
  it("an unknown account has nothing", () => {
    const { ledger } = fresh()
    assert.deepEqual(ledger.balance("nobody"), { balance: 0n, reserved: 0n })
    assert.equal(ledger.fromLedger("nobody"), 0n)
  })

  it("adds top-ups and negative corrections as new rows", () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 5n * USD, "top-up")
    ledger.credit("a", -2n * USD, "correction")
    ledger.credit("a", 1n, null)
    assert.deepEqual(ledger.balance("a"), { balance: 3n * USD + 1n, reserved: 0n })
    const all = rows()
    assert.equal(all.length, 3)
    assert.deepEqual(all.map((r) => [r.account_id, r.kind, r.amount_nano, r.note, r.created_at]), [
      ["a", "credit", 5n * USD, "top-up", BigInt(NOW)],
      ["a", "credit", -2n * USD, "correction", BigInt(NOW)],
      ["a", "credit", 1n, null, BigInt(NOW)]
    ])
    assert.equal(ledger.fromLedger("a"), ledger.balance("a").balance)
  })

  it("a correction may take the balance below zero", () => {
    const { ledger } = fresh()
    ledger.credit("a", -7n, "chargeback")
    assert.deepEqual(ledger.balance("a"), { balance: -7n, reserved: 0n })
  })

  it("keeps amounts beyond 2^53 nano-USD exact", () => {
    const { ledger } = fresh()
    const big = 9_007_199_254_740_993n // 2^53 + 1
    ledger.credit("a", big, null)
    ledger.credit("a", big, null)
    assert.equal(ledger.balance("a").balance, 2n * big)
    assert.equal(ledger.fromLedger("a"), 2n * big)
  })

  it("refuses an amount beyond the money limit, writing nothing", () => {
    const { ledger, rows } = fresh()
    // 2^64 + 5 is 5 to a driver that wraps bigints around (bun:sqlite); others throw.
    for (const amount of [MONEY_LIMIT_NANO + 1n, -MONEY_LIMIT_NANO - 1n, 2n ** 64n + 5n, 10n ** 20n]) {
      assert.equal(ledger.credit("a", amount, null), false, String(amount))
    }
    assert.deepEqual(rows(), [])
    assert.deepEqual(ledger.balance("a"), { balance: 0n, reserved: 0n })
  })

  it("refuses a credit that would take the balance beyond the limit either way; it stays an exact integer", () => {
    const { sql, ledger, rows } = fresh()
    assert.equal(ledger.credit("a", 9n * 10n ** 17n, "first"), true)
    assert.equal(ledger.credit("a", 9n * 10n ** 17n, "second"), false)
    assert.equal(ledger.credit("a", MONEY_LIMIT_NANO - 9n * 10n ** 17n, "to the limit"), true)
    assert.equal(ledger.credit("a", 1n, "past it"), false)
    assert.equal(ledger.credit("b", -MONEY_LIMIT_NANO, null), true)
    assert.equal(ledger.credit("b", -1n, null), false)
    assert.deepEqual(ledger.balance("a"), { balance: MONEY_LIMIT_NANO, reserved: 0n })
    assert.equal(ledger.fromLedger("a"), MONEY_LIMIT_NANO)
    assert.equal(ledger.balance("b").balance, -MONEY_LIMIT_NANO)
    assert.deepEqual(rows().map((r) => r.note), ["first", "to the limit", null])
    const types = sql.prepare("SELECT DISTINCT typeof(balance_nano) AS type FROM balances").all<{ type: string }>()
    assert.deepEqual(types, [{ type: "integer" }])
  })

  it("checks the limit against the balance as stored, not as this process last read it", () => {
    const { sql, ledger } = fresh()
    ledger.credit("a", 1n, null)
    assert.equal(ledger.balance("a").balance, 1n)
    // Another process's credit, unseen by this one.
    sql.prepare("UPDATE balances SET balance_nano = ? WHERE account_id = ?").run(MONEY_LIMIT_NANO, "a")
    assert.equal(ledger.credit("a", 1n, null), false)
    assert.equal(ledger.balance("a").balance, MONEY_LIMIT_NANO)
  })

  it("accounts are kept apart", () => {
    const { ledger } = fresh()
    ledger.credit("a", 10n, null)
    ledger.credit("b", 20n, null)
    reserve(ledger, "b", 5n)
    assert.deepEqual(ledger.balance("a"), { balance: 10n, reserved: 0n })
    assert.deepEqual(ledger.balance("b"), { balance: 20n, reserved: 5n })
  })
})

describe("ledger reserve", () => {
  it("sets money aside while balance minus reserved covers it, without a write", () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 100n, null)
    const before = rows()
    const first = reserve(ledger, "a", 60n)
    assert.deepEqual([first.account, first.amount], ["a", 60n])
    assert.deepEqual(ledger.balance("a"), { balance: 100n, reserved: 60n })
    assert.deepEqual(rows(), before)
    // Exactly what is left is fine, one more is not.
    reserve(ledger, "a", 40n)
    assert.deepEqual(ledger.reserve("a", 1n), { balance: 100n, reserved: 100n })
  })

  it("a refused reservation returns the balance and holds nothing", () => {
    const { ledger } = fresh()
    ledger.credit("a", 50n, null)
    reserve(ledger, "a", 30n)
    const refused = ledger.reserve("a", 21n)
    assert.ok(!isReservation(refused))
    assert.deepEqual(refused, { balance: 50n, reserved: 30n })
    assert.deepEqual(ledger.balance("a"), { balance: 50n, reserved: 30n })
  })

  it("refuses any reservation on an account without money", () => {
    const { ledger } = fresh()
    assert.deepEqual(ledger.reserve("a", 1n), { balance: 0n, reserved: 0n })
    ledger.credit("a", -5n, null)
    assert.deepEqual(ledger.reserve("a", 1n), { balance: -5n, reserved: 0n })
  })

  it("sees its own writes at once and another process's credit within half a second", () => {
    const sql = openNodeStore(":memory:")
    let clock = NOW
    const ledger = makeLedger(sql, { now: () => clock, schedule: () => {} })
    const otherProcess = makeLedger(sql, { now: () => clock, schedule: () => {} })
    ledger.credit("a", 10n, null)
    assert.deepEqual(ledger.reserve("a", 11n), { balance: 10n, reserved: 0n })
    otherProcess.credit("a", 5n, null)
    // Admission trusts the balance it read for a moment, then reads again.
    assert.deepEqual(ledger.reserve("a", 11n), { balance: 10n, reserved: 0n })
    clock += 500
    reserve(ledger, "a", 11n)
    ledger.credit("a", 100n, null)
    reserve(ledger, "a", 104n)
  })

  it("nothing is held across a restart: reservations live in the process that made them", () => {
    const { sql, ledger } = fresh()
    ledger.credit("a", 100n, null)
    reserve(ledger, "a", 70n)
    // The process dies here; a new one opens the same store.
    const restarted = fresh(sql).ledger
    assert.deepEqual(restarted.balance("a"), { balance: 100n, reserved: 0n })
    reserve(restarted, "a", 100n)
  })
})

describe("ledger settle", () => {
  it("releases the reservation and charges the cost, telling the callback", async () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 1_000n, null)
    const reservation = reserve(ledger, "a", 300n)
    const told: Array<bigint> = []
    assert.equal(await settleNow(ledger, "a", reservation, 120n, "req_1", (amount) => void told.push(amount)), 120n)
    assert.deepEqual(told, [120n])
    assert.deepEqual(ledger.balance("a"), { balance: 880n, reserved: 0n })
    const charge = rows().at(-1)!
    assert.deepEqual([charge.kind, charge.amount_nano, charge.request_id, charge.note], ["charge", 120n, "req_1", null])
  })

  it("decides the charge at once and holds it, in place of the reservation, until it is written", async () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 100n, null)
    const reservation = reserve(ledger, "a", 100n)
    const { charged, committed } = ledger.settle("a", reservation, 30n, "req", () => {})
    assert.equal(charged, 30n)
    // Not yet written: the charge is held, so nothing can be reserved against it; the rest can.
    assert.deepEqual(ledger.balance("a"), { balance: 100n, reserved: 30n })
    assert.deepEqual(ledger.reserve("a", 71n), { balance: 100n, reserved: 30n })
    const next = reserve(ledger, "a", 70n)
    assert.equal(rows().length, 1)
    ledger.commit()
    assert.equal(await committed, 30n)
    assert.deepEqual(ledger.balance("a"), { balance: 70n, reserved: 70n })
    assert.equal(await settleNow(ledger, "a", next, 0n), 0n)
    assert.deepEqual(ledger.balance("a"), { balance: 70n, reserved: 0n })
  })

  it("caps the charge it decides at what the balance has beyond what others hold", async () => {
    const { ledger } = fresh()
    ledger.credit("a", 100n, null)
    const other = reserve(ledger, "a", 60n)
    const { charged, committed } = ledger.settle("a", reserve(ledger, "a", 40n), 90n, "req", () => {})
    assert.equal(charged, 40n)
    ledger.commit()
    assert.equal(await committed, 40n)
    assert.deepEqual(ledger.balance("a"), { balance: 60n, reserved: 60n })
    assert.equal(await settleNow(ledger, "a", other, 60n), 60n)
  })

  it("commits the settles of one turn in one transaction, each charged against the one before", async () => {
    const store = openNodeStore(":memory:")
    let transactions = 0
    const { ledger, rows } = fresh({ ...store, transaction: (fn) => (transactions++, store.transaction(fn)) })
    ledger.credit("a", 100n, null)
    const first = reserve(ledger, "a", 50n)
    const second = reserve(ledger, "a", 50n)
    const before = transactions
    const charged = [ledger.settle("a", first, 40n, "req_1", () => {}).committed, ledger.settle("a", second, 70n, "req_2", () => {}).committed]
    ledger.commit()
    assert.equal(transactions - before, 1)
    // The second sees the first's charge: 60 left of 100, so its 70 stops at 60.
    assert.deepEqual(await Promise.all(charged), [40n, 60n])
    assert.deepEqual(rows().slice(-2).map((r) => [r.request_id, r.amount_nano, r.note]), [["req_1", 40n, null], ["req_2", 60n, "capped from 70"]])
    assert.deepEqual(ledger.balance("a"), { balance: 0n, reserved: 0n })
  })

  /** A ledger on its own commit schedule, counting its transactions. */
  const scheduled = () => {
    const store = openNodeStore(":memory:")
    let transactions = 0
    const ledger = makeLedger({ ...store, transaction: (fn) => (transactions++, store.transaction(fn)) })
    ledger.credit("a", 100n, null)
    return { ledger, transactions: () => transactions }
  }

  it("writes on its own once the code that settles is done, the charges it settled in one transaction", async () => {
    const { ledger, transactions } = scheduled()
    const before = transactions()
    const first = ledger.settle("a", reserve(ledger, "a", 10n), 7n, "req_1", () => {}).committed
    const second = ledger.settle("a", reserve(ledger, "a", 10n), 5n, "req_2", () => {}).committed
    assert.deepEqual(await Promise.all([first, second]), [7n, 5n])
    assert.equal(transactions() - before, 1)
    assert.deepEqual(ledger.balance("a"), { balance: 88n, reserved: 0n })
  })

  it("a read that writes early leaves nothing for the scheduled commit", async () => {
    const { ledger, transactions } = scheduled()
    const { committed } = ledger.settle("a", undefined, 9n, "req", () => {})
    ledger.commit()
    assert.equal(await committed, 9n)
    const after = transactions()
    await new Promise((resolve) => setTimeout(resolve, 30))
    assert.equal(transactions(), after, "no empty transaction when the timer fires")
  })

  it("charges more than the reservation when the balance has it", async () => {
    const { ledger } = fresh()
    ledger.credit("a", 1_000n, null)
    const reservation = reserve(ledger, "a", 100n)
    assert.equal(await settleNow(ledger, "a", reservation, 700n), 700n)
    assert.deepEqual(ledger.balance("a"), { balance: 300n, reserved: 0n })
  })

  it("caps a charge above the available balance so the balance never goes below zero", async () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 500n, null)
    const reservation = reserve(ledger, "a", 400n)
    const told: Array<bigint> = []
    assert.equal(await settleNow(ledger, "a", reservation, 2_000n, "req", (amount) => void told.push(amount)), 500n)
    assert.deepEqual(told, [500n])
    assert.deepEqual(ledger.balance("a"), { balance: 0n, reserved: 0n })
    assert.equal(rows().at(-1)!.note, "capped from 2000")
  })

  it("a capped charge leaves other open reservations covered", async () => {
    const { ledger } = fresh()
    ledger.credit("a", 500n, null)
    const first = reserve(ledger, "a", 100n)
    reserve(ledger, "a", 300n)
    assert.equal(await settleNow(ledger, "a", first, 1_000n), 200n)
    const after = ledger.balance("a")
    assert.deepEqual(after, { balance: 300n, reserved: 300n })
    assert.ok(after.balance - after.reserved >= 0n)
  })

  it("charges nothing, and writes no charge, when nothing is available", async () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", -10n, null)
    const before = rows().length
    assert.equal(await settleNow(ledger, "a", undefined, 5n), 0n)
    assert.deepEqual(ledger.balance("a"), { balance: -10n, reserved: 0n })
    assert.equal(rows().length, before)
  })

  it("settles without a reservation (nothing reserved) as a plain charge", async () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 100n, null)
    assert.equal(await settleNow(ledger, "a", undefined, 40n, "req_9"), 40n)
    const row = rows().at(-1)!
    assert.deepEqual([row.kind, row.amount_nano, row.request_id], ["charge", 40n, "req_9"])
  })

  it("a free request releases its reservation and writes no charge", async () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 100n, null)
    const reservation = reserve(ledger, "a", 40n)
    const told: Array<bigint> = []
    assert.equal(await settleNow(ledger, "a", reservation, 0n, "req", (amount) => void told.push(amount)), 0n)
    assert.deepEqual(told, [0n])
    assert.deepEqual(rows().map((r) => r.kind), ["credit"])
    assert.deepEqual(ledger.balance("a"), { balance: 100n, reserved: 0n })
  })

  it("is one transaction with the callback: a failing callback leaves nothing behind and costs no other settle its charge", async () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 100n, null)
    const failing = reserve(ledger, "a", 40n)
    const other = reserve(ledger, "a", 40n)
    const before = rows()
    const lost = ledger.settle("a", failing, 30n, "req_1", () => {
      throw new Error("usage record failed")
    }).committed
    const kept = ledger.settle("a", other, 20n, "req_2", () => {}).committed
    ledger.commit()
    await assert.rejects(lost, /usage record failed/)
    assert.equal(await kept, 20n)
    assert.deepEqual(rows().slice(before.length).map((r) => [r.request_id, r.amount_nano]), [["req_2", 20n]])
    // Its reservation is freed all the same: a lost charge must not lock the account.
    assert.deepEqual(ledger.balance("a"), { balance: 80n, reserved: 0n })
  })

  it("a charge that cannot be written still lets its request's usage record be written, charging nothing", async () => {
    const { sql, ledger, rows } = fresh()
    ledger.credit("a", 100n, null)
    sql.exec(`CREATE TRIGGER doomed BEFORE INSERT ON ledger WHEN NEW.request_id = 'req_1' BEGIN SELECT RAISE(ABORT, 'this charge is poisoned'); END`)
    const told: Array<[string, bigint]> = []
    const lost = ledger.settle("a", undefined, 30n, "req_1", (amount) => void told.push(["req_1", amount])).committed
    const kept = ledger.settle("a", undefined, 20n, "req_2", (amount) => void told.push(["req_2", amount])).committed
    ledger.commit()
    await assert.rejects(lost, /this charge is poisoned/)
    assert.equal(await kept, 20n)
    // The batch's transaction rolled back (its callbacks' writes with it); then each on its own.
    assert.deepEqual(told.slice(-2), [["req_1", 0n], ["req_2", 20n]])
    assert.deepEqual(rows().map((r) => [r.kind, r.amount_nano]), [["credit", 100n], ["charge", 20n]])
    assert.deepEqual(ledger.balance("a"), { balance: 80n, reserved: 0n })
  })
})

describe("ledger when the store refuses writes", () => {
  const failing = () => {
    const { sql, rows } = fresh()
    const health = new StoreHealthState()
    const kept = makeLedger(sql, { now: () => Date.now(), schedule: () => {}, health })
    kept.credit("a", 100n, null)
    const refuse = (message: string) => sql.exec(`CREATE TRIGGER refuse BEFORE INSERT ON ledger BEGIN SELECT RAISE(ABORT, '${message}'); END`)
    const accept = () => sql.exec("DROP TRIGGER refuse")
    return { ledger: kept, rows, health, refuse, accept }
  }

  it("keeps a refused charge, still held, tells its request once, and writes it exactly once when the store takes writes again", async () => {
    const { ledger, rows, health, refuse, accept } = failing()
    refuse("database or disk is full")
    const told: Array<bigint> = []
    const { charged, committed } = ledger.settle("a", reserve(ledger, "a", 40n), 30n, "req_1", (amount) => void told.push(amount))
    assert.equal(charged, 30n)
    ledger.commit()
    await assert.rejects(committed, (error: Error) => error instanceof ChargeKept && /disk is full/.test(error.message))
    assert.equal(health.writable, false)
    assert.equal(health.keptCharges, 1)
    assert.deepEqual(ledger.balance("a"), { balance: 100n, reserved: 30n }, "the kept charge stays held: nothing can be reserved against it")
    ledger.commit()
    assert.equal(ledger.pending, 1, "a second refusal keeps it again")
    accept()
    ledger.commit()
    ledger.stopRetrying()
    assert.equal(health.writable, true)
    assert.equal(health.keptCharges, 0)
    assert.deepEqual(rows().map((r) => [r.kind, r.amount_nano]), [["credit", 100n], ["charge", 30n]])
    assert.deepEqual(told, [30n], "its usage record is written with it, once")
    assert.deepEqual(ledger.balance("a"), { balance: 70n, reserved: 0n })
  })

  it("waits out a short lock held elsewhere without telling the request or refusing admission", async () => {
    const { ledger, health, refuse, accept } = failing()
    refuse("database is locked")
    const { committed } = ledger.settle("a", undefined, 5n, "req_1", () => {})
    ledger.commit()
    assert.equal(health.writable, true, "a lock is the store refusing only once a charge has waited it out")
    assert.equal(ledger.pending, 1)
    accept()
    ledger.commit()
    ledger.stopRetrying()
    assert.equal(await committed, 5n)
  })

  it("keeps at most 10,000 records of requests that cost nothing, and every charge", async () => {
    const { ledger, refuse } = failing()
    refuse("database or disk is full")
    const settled = Array.from({ length: 10_050 }, (_, i) => ledger.settle("a", undefined, 0n, `free_${i}`, () => {}).committed)
    const charge = ledger.settle("a", undefined, 3n, "paid", () => {}).committed
    ledger.commit()
    ledger.stopRetrying()
    await Promise.allSettled([...settled, charge])
    assert.equal(ledger.pending, 10_001, "10,000 free records and the one charge")
    await assert.rejects(charge, ChargeKept)
  })

  it("retries on its own", async () => {
    const { ledger, health, refuse, accept } = failing()
    refuse("attempt to write a readonly database")
    const { committed } = ledger.settle("a", undefined, 7n, "req_1", () => {})
    ledger.commit()
    await assert.rejects(committed, ChargeKept)
    assert.match(health.reason ?? "", /read-only/)
    accept()
    await eventuallyTrue(() => ledger.pending === 0)
    assert.equal(health.writable, true)
    assert.equal(ledger.fromLedger("a"), 93n)
  })
})

const eventuallyTrue = async (check: () => boolean) => {
  const deadline = Date.now() + 3_000
  while (!check()) {
    assert.ok(Date.now() < deadline, "in time")
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe("ledger properties", () => {
  type Op =
    | { readonly kind: "credit"; readonly account: number; readonly amount: bigint }
    | { readonly kind: "reserve"; readonly account: number; readonly amount: bigint }
    | { readonly kind: "settle"; readonly pick: number; readonly cost: bigint }
    | { readonly kind: "charge"; readonly account: number; readonly cost: bigint }
    | { readonly kind: "commit" }
    | { readonly kind: "restart" }

  const op = (credits: fc.Arbitrary<bigint>): fc.Arbitrary<Op> =>
    fc.oneof(
      fc.record({ kind: fc.constant("credit" as const), account: fc.nat(2), amount: credits }),
      fc.record({ kind: fc.constant("reserve" as const), account: fc.nat(2), amount: fc.bigInt({ min: 0n, max: 5_000n }) }),
      fc.record({ kind: fc.constant("settle" as const), pick: fc.nat(), cost: fc.bigInt({ min: 0n, max: 8_000n }) }),
      fc.record({ kind: fc.constant("charge" as const), account: fc.nat(2), cost: fc.bigInt({ min: 0n, max: 3_000n }) }),
      fc.record({ kind: fc.constant("commit" as const) }),
      fc.record({ kind: fc.constant("restart" as const) })
    )

  const run = async (ops: ReadonlyArray<Op>, check: (balance: Balance, account: string) => void) => {
    const store = fresh()
    const { sql, rows } = store
    let ledger = store.ledger
    let open: Array<Reservation> = []
    /** Settled, not yet written: their charges are held. */
    let settling: Array<{ readonly account: string; readonly amount: bigint }> = []
    const charges: Array<{ cost: bigint; charged: Promise<bigint>; told: () => bigint | undefined }> = []
    const accounts = ["a", "b", "c"]
    let seen = rows()
    for (const step of ops) {
      switch (step.kind) {
        case "credit":
          ledger.credit(accounts[step.account]!, step.amount, null)
          break
        case "reserve": {
          const account = accounts[step.account]!
          const before = ledger.balance(account)
          const result = ledger.reserve(account, step.amount)
          assert.equal(isReservation(result), before.balance - before.reserved >= step.amount)
          if (isReservation(result)) open.push(result)
          break
        }
        case "settle":
        case "charge": {
          const reservation = step.kind === "settle" && open.length > 0 ? open.splice(step.pick % open.length, 1)[0] : undefined
          if (step.kind === "settle" && reservation === undefined) break
          let told: bigint | undefined
          const account = reservation?.account ?? accounts[step.kind === "charge" ? step.account : 0]!
          // It holds what it will be charged: its cost, or what is left when that is less.
          const before = ledger.balance(account)
          const left = before.balance - before.reserved + (reservation?.amount ?? 0n)
          const settled = ledger.settle(account, reservation, step.cost, "req", (amount) => void (told = amount))
          assert.equal(settled.charged, step.cost <= left ? step.cost : left > 0n ? left : 0n)
          settling.push({ account, amount: settled.charged })
          charges.push({ cost: step.cost, told: () => told, charged: settled.committed })
          break
        }
        case "commit":
          ledger.commit()
          settling = []
          break
        case "restart":
          // Settles not yet committed die with the process, and so does every reservation.
          ledger = fresh(sql).ledger
          open = []
          settling = []
          break
      }
      // Append-only: every earlier row is still there, unchanged.
      const now = rows()
      assert.deepEqual(now.slice(0, seen.length), seen)
      seen = now
      for (const account of accounts) {
        const balance = ledger.balance(account)
        assert.equal(ledger.fromLedger(account), balance.balance)
        const held = [...open, ...settling].filter((r) => r.account === account).reduce((sum, r) => sum + r.amount, 0n)
        assert.equal(balance.reserved, held)
        check(balance, account)
      }
    }
    ledger.commit()
    for (const charge of charges) {
      const settled = await Promise.race([charge.charged, Promise.resolve(undefined)])
      if (settled === undefined) continue // lost in a restart
      assert.equal(charge.told(), settled)
      assert.ok(settled >= 0n && settled <= charge.cost)
    }
  }

  it("the running balances always equal the sums of the ledger, and holds equal the open reservations", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op(fc.bigInt({ min: -3_000n, max: 10_000n })), { maxLength: 60 }), (ops) =>
        run(ops, (balance) => assert.ok(balance.reserved >= 0n))),
      { numRuns: 200 }
    )
  })

  it("with only positive credits the balance never goes below zero nor below what is reserved", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op(fc.bigInt({ min: 1n, max: 10_000n })), { maxLength: 60 }), (ops) =>
        run(ops, (balance, account) => {
          assert.ok(balance.balance >= 0n, `${account} balance ${balance.balance}`)
          assert.ok(balance.balance - balance.reserved >= 0n, `${account} overdrawn`)
        })),
      { numRuns: 200 }
    )
  })
})
