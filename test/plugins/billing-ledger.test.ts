import assert from "node:assert/strict"
import { describe, it } from "node:test"
import fc from "fast-check"
import { type Balance, makeLedger, type Reservation } from "../../plugins/billing/ledger.ts"
import { openNodeStore } from "../../runtime/node-store.ts"

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

/** A ledger on a fresh in-memory store whose ledger table refuses any UPDATE or DELETE. */
const fresh = () => {
  const sql = openNodeStore(":memory:")
  const ledger = makeLedger(sql, () => NOW)
  sql.exec(`CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger rows are never updated'); END;
            CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger rows are never deleted'); END;`)
  const rows = () => sql.prepare("SELECT * FROM ledger ORDER BY id", { bigints: true }).all<LedgerRow>()
  return { sql, ledger, rows }
}

const isReservation = (value: Reservation | Balance): value is Reservation => "id" in value

const reserve = (ledger: ReturnType<typeof makeLedger>, account: string, amount: bigint, requestId = "req") => {
  const result = ledger.reserve(account, amount, requestId)
  assert.ok(isReservation(result), `reserving ${amount} should succeed`)
  return result
}

describe("ledger credit", () => {
  it("an unknown account has nothing", () => {
    const { ledger } = fresh()
    assert.deepEqual(ledger.balance("nobody"), { balance: 0n, reserved: 0n })
    assert.deepEqual(ledger.fromLedger("nobody"), { balance: 0n, reserved: 0n })
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
    assert.deepEqual(ledger.fromLedger("a"), ledger.balance("a"))
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
    assert.equal(ledger.fromLedger("a").balance, 2n * big)
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
  it("sets money aside while balance minus reserved covers it", () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 100n, null)
    const first = reserve(ledger, "a", 60n, "req_1")
    assert.match(first.id, /^res_[0-9A-Za-z]{20}$/)
    assert.equal(first.account, "a")
    assert.equal(first.amount, 60n)
    assert.deepEqual(ledger.balance("a"), { balance: 100n, reserved: 60n })
    const row = rows().at(-1)!
    assert.deepEqual([row.kind, row.amount_nano, row.reservation_id, row.request_id], ["reserve", 60n, first.id, "req_1"])
    // Exactly what is left is fine, one more is not.
    const second = reserve(ledger, "a", 40n)
    assert.notEqual(second.id, first.id)
    assert.deepEqual(ledger.reserve("a", 1n, "req_3"), { balance: 100n, reserved: 100n })
  })

  it("a refused reservation returns the balance and writes nothing", () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 50n, null)
    reserve(ledger, "a", 30n)
    const before = rows().length
    const refused = ledger.reserve("a", 21n, "req")
    assert.ok(!isReservation(refused))
    assert.deepEqual(refused, { balance: 50n, reserved: 30n })
    assert.equal(rows().length, before)
    assert.deepEqual(ledger.balance("a"), { balance: 50n, reserved: 30n })
  })

  it("refuses any reservation on an account without money", () => {
    const { ledger } = fresh()
    assert.deepEqual(ledger.reserve("a", 1n, "req"), { balance: 0n, reserved: 0n })
    ledger.credit("a", -5n, null)
    assert.deepEqual(ledger.reserve("a", 1n, "req"), { balance: -5n, reserved: 0n })
  })
})

describe("ledger settle", () => {
  it("releases the reservation and charges the cost, telling the callback", () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 1_000n, null)
    const reservation = reserve(ledger, "a", 300n, "req_1")
    const told: Array<bigint> = []
    const charged = ledger.settle("a", reservation, 120n, "req_1", (amount) => void told.push(amount))
    assert.equal(charged, 120n)
    assert.deepEqual(told, [120n])
    assert.deepEqual(ledger.balance("a"), { balance: 880n, reserved: 0n })
    const [release, charge] = rows().slice(-2)
    assert.deepEqual([release!.kind, release!.amount_nano, release!.reservation_id, release!.request_id], ["release", 300n, reservation.id, "req_1"])
    assert.deepEqual([charge!.kind, charge!.amount_nano, charge!.reservation_id, charge!.note], ["charge", 120n, reservation.id, null])
  })

  it("charges more than the reservation when the balance has it", () => {
    const { ledger } = fresh()
    ledger.credit("a", 1_000n, null)
    const reservation = reserve(ledger, "a", 100n)
    assert.equal(ledger.settle("a", reservation, 700n, "req", () => {}), 700n)
    assert.deepEqual(ledger.balance("a"), { balance: 300n, reserved: 0n })
  })

  it("caps a charge above the available balance so the balance never goes below zero", () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 500n, null)
    const reservation = reserve(ledger, "a", 400n)
    const told: Array<bigint> = []
    assert.equal(ledger.settle("a", reservation, 2_000n, "req", (amount) => void told.push(amount)), 500n)
    assert.deepEqual(told, [500n])
    assert.deepEqual(ledger.balance("a"), { balance: 0n, reserved: 0n })
    assert.equal(rows().at(-1)!.note, "capped from 2000")
  })

  it("a capped charge leaves other open reservations covered", () => {
    const { ledger } = fresh()
    ledger.credit("a", 500n, null)
    const first = reserve(ledger, "a", 100n)
    reserve(ledger, "a", 300n)
    assert.equal(ledger.settle("a", first, 1_000n, "req", () => {}), 200n)
    const after = ledger.balance("a")
    assert.deepEqual(after, { balance: 300n, reserved: 300n })
    assert.ok(after.balance - after.reserved >= 0n)
  })

  it("charges nothing, and writes no charge, when nothing is available", () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", -10n, null)
    const before = rows().length
    assert.equal(ledger.settle("a", undefined, 5n, "req", () => {}), 0n)
    assert.deepEqual(ledger.balance("a"), { balance: -10n, reserved: 0n })
    assert.equal(rows().length, before)
  })

  it("settles without a reservation (nothing reserved) as a plain charge", () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 100n, null)
    assert.equal(ledger.settle("a", undefined, 40n, "req_9", () => {}), 40n)
    const row = rows().at(-1)!
    assert.deepEqual([row.kind, row.amount_nano, row.reservation_id, row.request_id], ["charge", 40n, null, "req_9"])
  })

  it("a free request releases its reservation and writes no charge", () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 100n, null)
    const reservation = reserve(ledger, "a", 40n)
    const told: Array<bigint> = []
    assert.equal(ledger.settle("a", reservation, 0n, "req", (amount) => void told.push(amount)), 0n)
    assert.deepEqual(told, [0n])
    assert.deepEqual(rows().map((r) => r.kind), ["credit", "reserve", "release"])
    assert.deepEqual(ledger.balance("a"), { balance: 100n, reserved: 0n })
  })

  it("is one transaction with the callback: a failing callback leaves nothing behind", () => {
    const { ledger, rows } = fresh()
    ledger.credit("a", 100n, null)
    const reservation = reserve(ledger, "a", 40n)
    const before = rows()
    assert.throws(() => ledger.settle("a", reservation, 30n, "req", () => {
      throw new Error("usage record failed")
    }), /usage record failed/)
    assert.deepEqual(rows(), before)
    assert.deepEqual(ledger.balance("a"), { balance: 100n, reserved: 40n })
  })
})

describe("ledger releaseOpen", () => {
  it("releases reservations left open by a crash, once", () => {
    const { sql, ledger } = fresh()
    ledger.credit("a", 100n, null)
    ledger.credit("b", 100n, null)
    const settled = reserve(ledger, "a", 10n)
    const openA = reserve(ledger, "a", 20n)
    const openB = reserve(ledger, "b", 30n)
    ledger.settle("a", settled, 5n, "req", () => {})

    // The process dies here; a new one opens the same store.
    const restarted = makeLedger(sql, () => NOW + 1)
    const released = restarted.releaseOpen()
    assert.deepEqual(
      released.map((r) => ({ id: r.id, account: r.account, amount: BigInt(r.amount) })).sort((x, y) => x.account.localeCompare(y.account)),
      [{ id: openA.id, account: "a", amount: 20n }, { id: openB.id, account: "b", amount: 30n }]
    )
    assert.deepEqual(restarted.balance("a"), { balance: 95n, reserved: 0n })
    assert.deepEqual(restarted.balance("b"), { balance: 100n, reserved: 0n })
    const notes = sql.prepare("SELECT note, created_at FROM ledger WHERE kind = 'release' AND request_id IS NULL").all<{ note: string; created_at: number }>()
    assert.deepEqual(notes, [{ note: "released at start", created_at: NOW + 1 }, { note: "released at start", created_at: NOW + 1 }])
    assert.deepEqual(restarted.releaseOpen(), [])
    assert.deepEqual(restarted.fromLedger("a"), restarted.balance("a"))
    assert.deepEqual(restarted.fromLedger("b"), restarted.balance("b"))
  })

  it("finds nothing to release on a clean store", () => {
    const { ledger } = fresh()
    ledger.credit("a", 1n, null)
    assert.deepEqual(ledger.releaseOpen(), [])
  })
})

describe("ledger properties", () => {
  type Op =
    | { readonly kind: "credit"; readonly account: number; readonly amount: bigint }
    | { readonly kind: "reserve"; readonly account: number; readonly amount: bigint }
    | { readonly kind: "settle"; readonly pick: number; readonly cost: bigint }
    | { readonly kind: "charge"; readonly account: number; readonly cost: bigint }
    | { readonly kind: "restart" }

  const op = (credits: fc.Arbitrary<bigint>): fc.Arbitrary<Op> =>
    fc.oneof(
      fc.record({ kind: fc.constant("credit" as const), account: fc.nat(2), amount: credits }),
      fc.record({ kind: fc.constant("reserve" as const), account: fc.nat(2), amount: fc.bigInt({ min: 0n, max: 5_000n }) }),
      fc.record({ kind: fc.constant("settle" as const), pick: fc.nat(), cost: fc.bigInt({ min: 0n, max: 8_000n }) }),
      fc.record({ kind: fc.constant("charge" as const), account: fc.nat(2), cost: fc.bigInt({ min: 0n, max: 3_000n }) }),
      fc.record({ kind: fc.constant("restart" as const) })
    )

  const run = (ops: ReadonlyArray<Op>, check: (balance: Balance, account: string) => void) => {
    const { sql, rows } = fresh()
    let ledger = makeLedger(sql, () => NOW)
    let open: Array<Reservation> = []
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
          const result = ledger.reserve(account, step.amount, "req")
          assert.equal(isReservation(result), before.balance - before.reserved >= step.amount)
          if (isReservation(result)) open.push(result)
          break
        }
        case "settle": {
          if (open.length === 0) break
          const reservation = open.splice(step.pick % open.length, 1)[0]!
          let told: bigint | undefined
          const charged = ledger.settle(reservation.account, reservation, step.cost, "req", (amount) => void (told = amount))
          assert.equal(told, charged)
          assert.ok(charged >= 0n && charged <= step.cost)
          break
        }
        case "charge":
          ledger.settle(accounts[step.account]!, undefined, step.cost, "req", () => {})
          break
        case "restart":
          ledger = makeLedger(sql, () => NOW)
          ledger.releaseOpen()
          open = []
          break
      }
      // Append-only: every earlier row is still there, unchanged.
      const now = rows()
      assert.deepEqual(now.slice(0, seen.length), seen)
      seen = now
      for (const account of accounts) {
        const balance = ledger.balance(account)
        assert.deepEqual(ledger.fromLedger(account), balance)
        check(balance, account)
      }
    }
    for (const account of accounts) {
      const expectedReserved = open.filter((r) => r.account === account).reduce((sum, r) => sum + r.amount, 0n)
      assert.equal(ledger.balance(account).reserved, expectedReserved)
    }
  }

  it("the running balances always equal the sums of the ledger", () => {
    fc.assert(
      fc.property(fc.array(op(fc.bigInt({ min: -3_000n, max: 10_000n })), { maxLength: 60 }), (ops) => {
        run(ops, (balance) => assert.ok(balance.reserved >= 0n))
      }),
      { numRuns: 200 }
    )
  })

  it("with only positive credits the balance never goes below zero nor below what is reserved", () => {
    fc.assert(
      fc.property(fc.array(op(fc.bigInt({ min: 1n, max: 10_000n })), { maxLength: 60 }), (ops) => {
        run(ops, (balance, account) => {
          assert.ok(balance.balance >= 0n, `${account} balance ${balance.balance}`)
          assert.ok(balance.balance - balance.reserved >= 0n, `${account} overdrawn`)
        })
      }),
      { numRuns: 200 }
    )
  })
})
