import assert from "node:assert/strict"
import { Effect } from "effect"
import { emptyUsage, type KeyCharge, type LedgerShape, MONEY_LIMIT_NANO, type Reservation, type UsageRecord, type UsageRecordsShape } from "../../core/index.ts"
import { type ContractCase, run } from "./contract.ts"

/** The ledger and the usage records it writes, from one store. */
export interface Billing {
  readonly ledger: LedgerShape
  readonly usage: UsageRecordsShape
}

const isReservation = (value: unknown): value is Reservation => typeof value === "object" && value !== null && "account" in value

const record = (requestId: string, account: string, createdAt = Date.now()) => (charged: bigint): UsageRecord => ({
  requestId,
  accountId: account,
  keyId: "key_1",
  createdAt,
  surface: "v1.chat.completions",
  model: "m",
  provider: "p",
  byok: false,
  status: 200,
  usage: { ...emptyUsage, promptTokens: 10, completionTokens: 5, source: "upstream" },
  cost: charged,
  latencyMs: 12.5,
  ttfbMs: undefined
})

const settle = async (
  ledger: LedgerShape,
  account: string,
  reservation: Reservation | undefined,
  cost: bigint,
  requestId: string,
  key?: KeyCharge
) => {
  const settled = await run(ledger.settle({ account, reservation, cost, requestId, key, record: record(requestId, account) }))
  return { charged: settled.charged, written: await run(settled.committed) }
}

/** The Ledger and UsageRecords ports' contract: `make` answers a fresh, empty store each time. */
export const billingContract = (make: () => Promise<Billing>): ReadonlyArray<ContractCase> => [
  {
    name: "an account never credited has nothing, and credits and corrections add up",
    run: async () => {
      const { ledger } = await make()
      assert.deepEqual(await run(ledger.read("a")), { balance: 0n, reserved: 0n })
      assert.equal(await run(ledger.credit("a", 5_000n, "top-up")), true)
      assert.equal(await run(ledger.credit("a", -1_000n, null)), true)
      assert.deepEqual(await run(ledger.read("a")), { balance: 4_000n, reserved: 0n })
    }
  },
  {
    name: "a credit past the money limit is refused and writes nothing",
    run: async () => {
      const { ledger } = await make()
      assert.equal(await run(ledger.credit("a", MONEY_LIMIT_NANO, null)), true)
      assert.equal(await run(ledger.credit("a", 1n, null)), false)
      assert.equal(await run(ledger.credit("b", MONEY_LIMIT_NANO + 1n, null)), false)
      assert.deepEqual(await run(ledger.read("a")), { balance: MONEY_LIMIT_NANO, reserved: 0n })
      assert.deepEqual(await run(ledger.read("b")), { balance: 0n, reserved: 0n })
    }
  },
  {
    name: "a reservation holds money until it is released; one the balance cannot cover is refused with the balance",
    run: async () => {
      const { ledger } = await make()
      await run(ledger.credit("a", 100n, null))
      const held = await run(ledger.reserve("a", 60n))
      assert.ok(isReservation(held))
      assert.deepEqual(await run(ledger.read("a")), { balance: 100n, reserved: 60n })
      assert.deepEqual(await run(ledger.reserve("a", 50n)), { balance: 100n, reserved: 60n })
      await run(ledger.release(held))
      assert.deepEqual(await run(ledger.read("a")), { balance: 100n, reserved: 0n })
      assert.ok(isReservation(await run(ledger.reserve("a", 100n))))
    }
  },
  {
    name: "reservations made at once never together overdraw",
    run: async () => {
      const { ledger } = await make()
      await run(ledger.credit("a", 10n, null))
      const results = await run(Effect.all(Array.from({ length: 8 }, () => ledger.reserve("a", 3n)), { concurrency: "unbounded" }))
      assert.equal(results.filter(isReservation).length, 3)
      assert.deepEqual(await run(ledger.read("a")), { balance: 10n, reserved: 9n })
    }
  },
  {
    name: "a settle charges the cost in place of the reservation, with its usage record, once durable",
    run: async () => {
      const { ledger, usage } = await make()
      await run(ledger.credit("a", 1_000n, null))
      const held = await run(ledger.reserve("a", 400n))
      assert.ok(isReservation(held))
      assert.deepEqual(await settle(ledger, "a", held, 250n, "req_1"), { charged: 250n, written: 250n })
      assert.deepEqual(await run(ledger.read("a")), { balance: 750n, reserved: 0n })
      const [view] = await run(usage.list("a", 10))
      assert.deepEqual([view?.id, view?.cost, view?.prompt_tokens, view?.completion_tokens, view?.status], ["req_1", "0.000000250", 10, 5, 200])
      assert.equal(await run(ledger.pending()), 0)
    }
  },
  {
    name: "a charge stops at what the balance has beyond others' holds, and a free request still leaves its record",
    run: async () => {
      const { ledger, usage } = await make()
      await run(ledger.credit("a", 100n, null))
      const other = await run(ledger.reserve("a", 30n))
      assert.ok(isReservation(other))
      assert.deepEqual(await settle(ledger, "a", undefined, 500n, "req_1"), { charged: 70n, written: 70n })
      assert.deepEqual(await settle(ledger, "a", undefined, 0n, "req_2"), { charged: 0n, written: 0n })
      assert.deepEqual(await run(ledger.read("a")), { balance: 30n, reserved: 30n })
      assert.deepEqual((await run(usage.list("a", 10))).map((view) => [view.id, view.cost]), [["req_2", "0.000000000"], ["req_1", "0.000000070"]])
    }
  },
  {
    name: "settles made at once charge each its own cost",
    run: async () => {
      const { ledger } = await make()
      await run(ledger.credit("a", 1_000n, null))
      const settled = await Promise.all(Array.from({ length: 5 }, (_, i) => settle(ledger, "a", undefined, 100n, `req_${i}`)))
      assert.deepEqual(settled.map((s) => s.written), [100n, 100n, 100n, 100n, 100n])
      await run(ledger.flush())
      assert.deepEqual(await run(ledger.read("a")), { balance: 500n, reserved: 0n })
    }
  },
  {
    name: "usage lists an account's newest records first, up to the limit, and its spend per day",
    run: async () => {
      const { ledger, usage } = await make()
      await run(ledger.credit("a", 1_000n, null))
      for (const [i, cost] of [10n, 20n, 30n].entries()) await settle(ledger, "a", undefined, cost, `req_${i}`)
      await settle(ledger, "b", undefined, 0n, "req_other")
      assert.deepEqual((await run(usage.list("a", 2))).map((view) => view.id), ["req_2", "req_1"])
      const today = new Date().toISOString().slice(0, 10)
      assert.deepEqual(await run(usage.dailySpend("a", 7)), [{ day: today, cost: 60n }])
      assert.deepEqual(await run(usage.list("c", 5)), [])
      // The operator's view: every account's spend per day, by account or by model; free requests left out.
      await run(ledger.credit("d", 1_000n, null))
      await settle(ledger, "d", undefined, 5n, "req_d")
      assert.deepEqual(await run(usage.spendBy("account", 7)), [{ day: today, name: "a", cost: 60n }, { day: today, name: "d", cost: 5n }])
      assert.deepEqual(await run(usage.spendBy("model", 1)), [{ day: today, name: "m", cost: 65n }])
    }
  },
  {
    name: "a key's spend limit holds with the balance: its spend in the period plus its holds plus the new one must fit",
    run: async () => {
      const { ledger } = await make()
      await run(ledger.credit("a", 1_000n, null))
      const budget = { key: "key_1", limit: 100n, since: 20_000 }
      const first = await run(ledger.reserve("a", 60n, budget))
      assert.ok(isReservation(first))
      assert.deepEqual(await run(ledger.reserve("a", 50n, budget)), { key: "key_1", limit: 100n, spent: 0n, reserved: 60n })
      // Another key of the same account, and the account itself, are not held by this key's limit.
      assert.ok(isReservation(await run(ledger.reserve("a", 50n, { ...budget, key: "key_2" }))))
      assert.equal((await settle(ledger, "a", first, 45n, "req_1", { id: "key_1", day: 20_000 })).written, 45n)
      assert.equal(await run(ledger.keySpent("key_1", 20_000)), 45n)
      assert.deepEqual(await run(ledger.reserve("a", 56n, budget)), { key: "key_1", limit: 100n, spent: 45n, reserved: 0n })
      const exact = await run(ledger.reserve("a", 55n, budget))
      assert.ok(isReservation(exact), "a reservation that fills the limit exactly fits")
      await settle(ledger, "a", exact, 55n, "req_2", { id: "key_1", day: 20_001 })
      // At its limit a key is refused even a request that costs nothing.
      assert.deepEqual(await run(ledger.reserve("a", 0n, budget)), { key: "key_1", limit: 100n, spent: 100n, reserved: 0n })
    }
  },
  {
    name: "a key's spend counts from the first day of its period: a new period starts from nothing",
    run: async () => {
      const { ledger } = await make()
      await run(ledger.credit("a", 1_000n, null))
      await settle(ledger, "a", undefined, 80n, "req_1", { id: "key_1", day: 19_999 })
      assert.equal(await run(ledger.keySpent("key_1", 19_999)), 80n)
      assert.equal(await run(ledger.keySpent("key_1", 20_000)), 0n)
      assert.deepEqual(await run(ledger.reserve("a", 30n, { key: "key_1", limit: 100n, since: 19_999 })), { key: "key_1", limit: 100n, spent: 80n, reserved: 0n })
      assert.ok(isReservation(await run(ledger.reserve("a", 30n, { key: "key_1", limit: 100n, since: 20_000 }))))
    }
  },
  {
    name: "concurrent reservations never overrun a key's limit: of 20 that each need a fifth of it, 5 hold",
    run: async () => {
      const { ledger } = await make()
      await run(ledger.credit("a", 1_000_000n, null))
      const budget = { key: "key_1", limit: 100n, since: 0 }
      const results = await run(Effect.all(Array.from({ length: 20 }, () => ledger.reserve("a", 20n, budget)), { concurrency: "unbounded" }))
      assert.equal(results.filter(isReservation).length, 5)
    }
  },
  {
    name: "requests that cost more than they reserved never leave a key past its limit, and the account still pays every one in full",
    run: async () => {
      const { ledger } = await make()
      await run(ledger.credit("a", 1_000n, null))
      // Spend before the period does not count; 10 spent in it does.
      await settle(ledger, "a", undefined, 40n, "req_old", { id: "key_1", day: 19_999 })
      await settle(ledger, "a", undefined, 10n, "req_0", { id: "key_1", day: 20_000, limit: { amount: 100n, since: 20_000 } })
      const budget = { key: "key_1", limit: 100n, since: 20_000 }
      const holds = await run(Effect.all(Array.from({ length: 6 }, () => ledger.reserve("a", 15n, budget)), { concurrency: "unbounded" }))
      const admitted = holds.filter(isReservation)
      assert.equal(admitted.length, 6, "6 holds of 15 fit in the 90 left")
      // Each really cost 25: 150 in all, settled together.
      const settled = await Promise.all(admitted.map((hold, i) => settle(ledger, "a", hold, 25n, `req_${i + 1}`, { id: "key_1", day: 20_000, limit: { amount: 100n, since: 20_000 } })))
      assert.deepEqual(settled.map((each) => each.written), Array(6).fill(25n), "the account is charged every request's whole cost")
      assert.deepEqual(await run(ledger.read("a")), { balance: 1_000n - 40n - 10n - 150n, reserved: 0n })
      assert.equal(await run(ledger.keySpent("key_1", 20_000)), 100n, "the key's spend stops at its limit")
      assert.deepEqual(await run(ledger.reserve("a", 0n, budget)), { key: "key_1", limit: 100n, spent: 100n, reserved: 0n })
      // A key with no limit counts everything.
      await settle(ledger, "a", undefined, 25n, "req_free", { id: "key_2", day: 20_000 })
      assert.equal(await run(ledger.keySpent("key_2", 20_000)), 25n)
    }
  },
  {
    name: "a released key reservation frees the key's limit",
    run: async () => {
      const { ledger } = await make()
      await run(ledger.credit("a", 1_000n, null))
      const budget = { key: "key_1", limit: 100n, since: 0 }
      const held = await run(ledger.reserve("a", 100n, budget))
      assert.ok(isReservation(held))
      assert.ok(!isReservation(await run(ledger.reserve("a", 1n, budget))))
      await run(ledger.release(held))
      assert.ok(isReservation(await run(ledger.reserve("a", 100n, budget))))
    }
  }
]
