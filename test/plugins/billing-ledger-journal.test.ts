import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { type SqlShape, StoreHealthState } from "../../core/index.ts"
import { journalHeader } from "../../plugins/billing/journal-entry.ts"
import { ChargeKept, makeLedger, type Reservation } from "../../plugins/billing/ledger.ts"
import { openNodeStore } from "../../runtime/node-store.ts"
import { memoryChargeJournal } from "../ports/memory.ts"

/**
 * The ledger with a charge journal: a charge is durable once appended, written into the store
 * later. Each test runs the ledger's turns by hand: `settled()` is the end of the turn that
 * settled (the append), `deferred()` the later write into the store.
 */
const journaled = (sql: SqlShape = openNodeStore(":memory:"), journal = memoryChargeJournal(), health = new StoreHealthState()) => {
  const turns: Array<() => void> = []
  const writes: Array<() => void> = []
  sql.exec("CREATE TABLE IF NOT EXISTS recs (request_id TEXT NOT NULL, charged INTEGER NOT NULL)")
  const record = sql.prepare("INSERT INTO recs (request_id, charged) VALUES (?, ?)")
  const ledger = makeLedger(sql, {
    schedule: (run) => void turns.push(run),
    health,
    journal: { file: journal, replay: (memo, charged) => void record.run(memo as string, charged), defer: (write) => void writes.push(write) }
  })
  const run = (queue: Array<() => void>) => () => {
    for (const step of queue.splice(0)) step()
  }
  const settle = (account: string, reservation: Reservation | undefined, cost: bigint, requestId: string) =>
    ledger.settle(account, reservation, cost, requestId, (charged) => void record.run(requestId, charged), undefined, requestId)
  const charges = () => sql.prepare("SELECT request_id, amount_nano FROM ledger WHERE kind = 'charge' ORDER BY id", { bigints: true }).all<{ request_id: string; amount_nano: bigint }>()
    .map((row) => [row.request_id, row.amount_nano])
  const records = () => sql.prepare("SELECT request_id, charged FROM recs ORDER BY rowid", { bigints: true }).all<{ request_id: string; charged: bigint }>()
    .map((row) => [row.request_id, row.charged])
  const applied = () => sql.prepare("SELECT applied_seq FROM charge_journal").get<{ applied_seq: number }>()!.applied_seq
  const settled = run(turns)
  /** One request settled alone and its turn run: its charge's promise. */
  const settleAlone = (account: string, cost: bigint, requestId: string) => {
    const { committed } = settle(account, undefined, cost, requestId)
    settled()
    return committed
  }
  return { sql, journal, health, ledger, settle, settled, settleAlone, deferred: run(writes), charges, records, applied }
}

/** The name a store's charge journal gives it. */
const storeOf = (sql: SqlShape) => sql.prepare("SELECT store_id FROM charge_journal").get<{ store_id: string }>()!.store_id

const settledYet = async (promise: Promise<unknown>) => {
  let done = false
  void promise.then(() => (done = true), () => (done = true))
  await new Promise((resolve) => setImmediate(resolve))
  return done
}

describe("ledger with a charge journal", () => {
  it("a charge is durable once appended: the settle resolves then, the store is written later, the money held until it is", async () => {
    const { sql, ledger, journal, settle, settled, deferred, charges, records, applied } = journaled()
    ledger.credit("a", 100n, null)
    const { charged, committed } = settle("a", ledger.reserve("a", 50n) as Reservation, 30n, "req_1")
    assert.equal(charged, 30n)
    assert.equal(await settledYet(committed), false, "not durable before the append")
    settled()
    assert.equal(journal.appends, 1)
    assert.ok(journal.text.startsWith(journalHeader(storeOf(sql))), "the journal's first line names its store")
    assert.equal(await committed, 30n)
    // In the journal, not in the store: the charge stays held, so nothing is admitted against it.
    assert.deepEqual(charges(), [])
    assert.deepEqual(ledger.balance("a"), { balance: 100n, reserved: 30n })
    assert.ok(!("account" in ledger.reserve("a", 71n)), "the journaled charge's money is not admitted again")
    assert.equal(ledger.pending, 1)
    deferred()
    assert.deepEqual(charges(), [["req_1", 30n]])
    assert.deepEqual(records(), [["req_1", 30n]])
    assert.deepEqual(ledger.balance("a"), { balance: 70n, reserved: 0n })
    assert.equal(applied(), 1, "the store records the highest journal entry it holds")
    assert.equal(journal.text, "", "emptied once everything in it is in the store")
    assert.equal(ledger.pending, 0)
  })

  it("a turn's settles make one append, and the deferred write takes several turns' in one transaction", async () => {
    const store = openNodeStore(":memory:")
    let transactions = 0
    const { ledger, journal, settle, settled, deferred, charges } = journaled({ ...store, transaction: (fn) => (transactions++, store.transaction(fn)) })
    ledger.credit("a", 100n, null)
    const first = [settle("a", undefined, 1n, "t1_a").committed, settle("a", undefined, 2n, "t1_b").committed]
    settled()
    const second = settle("a", undefined, 3n, "t2").committed
    settled()
    assert.deepEqual(await Promise.all([...first, second]), [1n, 2n, 3n])
    assert.equal(journal.appends, 2)
    const before = transactions
    deferred()
    assert.equal(transactions - before, 1)
    assert.deepEqual(charges().map(([id]) => id), ["t1_a", "t1_b", "t2"])
  })

  it("a burst of journaled charges goes into the store a few hundred per transaction, one turn of the loop each, in order", async () => {
    const store = openNodeStore(":memory:")
    const sizes: Array<number> = []
    const written = () => store.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'ledger'").get<{ n: number }>()!.n === 0
      ? 0
      : store.prepare("SELECT COUNT(*) AS n FROM ledger WHERE kind = 'charge'").get<{ n: number }>()!.n
    const { ledger, journal, settle, settled, deferred, charges, applied } = journaled({
      ...store,
      transaction: (fn) => {
        const before = written()
        const result = store.transaction(fn)
        if (written() > before) sizes.push(written() - before)
        return result
      }
    })
    ledger.credit("a", 10_000n, null)
    const committed = Array.from({ length: 600 }, (_, i) => settle("a", undefined, 1n, `r${i}`).committed)
    settled()
    await Promise.all(committed)
    deferred()
    // The first slice now; the rest in the next turns, the event loop free in between.
    assert.equal(sizes.length, 1)
    assert.ok(sizes[0]! < 600, `one transaction took ${sizes[0]} charges`)
    assert.notEqual(journal.text, "", "kept until every charge in it is in the store")
    for (let turn = 0; turn < 10 && charges().length < 600; turn++) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(charges().length, 600)
    assert.ok(sizes.every((size) => size <= sizes[0]!) && sizes.length >= 3, `transactions of ${sizes.join(", ")} charges`)
    assert.deepEqual(charges().map(([id]) => id), Array.from({ length: 600 }, (_, i) => `r${i}`))
    assert.equal(applied(), 600)
    assert.equal(journal.text, "", "emptied once the last slice is in")
    assert.deepEqual(ledger.balance("a"), { balance: 9_400n, reserved: 0n })
  })

  it("charges written in one transaction move each balance and key spend by their sum, a key's limit counted across them", async () => {
    const { sql, ledger, settled, deferred, charges } = journaled()
    ledger.credit("a", 100n, null)
    ledger.credit("b", 100n, null)
    const limited = { id: "key_l", day: 20_000, limit: { amount: 5n, since: 19_990 } }
    const open = { id: "key_o", day: 20_000, limit: undefined }
    const settles = [
      ledger.settle("a", undefined, 3n, "a1", () => undefined, limited),
      ledger.settle("a", undefined, 3n, "a2", () => undefined, limited),
      ledger.settle("b", undefined, 7n, "b1", () => undefined, open),
      ledger.settle("a", undefined, 3n, "a3", () => undefined, limited),
      ledger.settle("b", undefined, 4n, "b2", () => undefined, open)
    ]
    settled()
    await Promise.all(settles.map((s) => s.committed))
    deferred()
    assert.deepEqual(charges(), [["a1", 3n], ["a2", 3n], ["b1", 7n], ["a3", 3n], ["b2", 4n]])
    assert.deepEqual(ledger.balance("a"), { balance: 91n, reserved: 0n })
    assert.deepEqual(ledger.balance("b"), { balance: 89n, reserved: 0n })
    // What counts against the limited key stops at its limit, the batch's earlier charges counted.
    assert.equal(ledger.keySpent("key_l", 19_990), 5n)
    assert.equal(ledger.keySpent("key_o", 19_990), 11n)
    assert.equal(sql.prepare("SELECT COUNT(*) AS n FROM key_spend").get<{ n: number }>()!.n, 2)
  })

  it("after a crash between the append and the store's write, the next start writes each journaled charge once", async () => {
    const sql = openNodeStore(":memory:")
    const first = journaled(sql)
    first.ledger.credit("a", 100n, null)
    await Promise.all([first.settle("a", undefined, 30n, "req_1").committed, first.settle("a", undefined, 0n, "free").committed].map((c) => (first.settled(), c)))
    const left = first.journal.text
    assert.equal(left.split("\n").filter(Boolean).length, 3, "the header naming the store, and two entries")
    // The crash: the deferred write never runs. The next start finds the journal as it was.
    const second = journaled(sql, first.journal)
    assert.deepEqual(second.charges(), [["req_1", 30n]])
    assert.deepEqual(second.records(), [["req_1", 30n], ["free", 0n]])
    assert.deepEqual(second.ledger.balance("a"), { balance: 70n, reserved: 0n })
    assert.equal(second.ledger.fromLedger("a"), 70n)
    assert.equal(second.journal.text, "")
    // A crash after the store's write but before the journal was emptied: the same entries again
    // are at or below the store's mark, and written no second time.
    first.journal.text = left
    const third = journaled(sql, first.journal)
    assert.deepEqual(third.charges(), [["req_1", 30n]])
    assert.equal(third.records().length, 2)
    assert.deepEqual(third.ledger.balance("a"), { balance: 70n, reserved: 0n })
    // Numbering carries on above the mark, so the next entry is not taken for an old one.
    await Promise.all([third.settle("a", undefined, 5n, "req_2").committed].map((c) => (third.settled(), c)))
    const fourth = journaled(sql, first.journal)
    assert.deepEqual(fourth.charges(), [["req_1", 30n], ["req_2", 5n]])
  })

  it("a torn last line (a crash mid-append) is skipped; the whole lines before it are written", async () => {
    const sql = openNodeStore(":memory:")
    const first = journaled(sql)
    first.ledger.credit("a", 100n, null)
    await first.settleAlone("a", 10n, "whole")
    await first.settleAlone("a", 20n, "torn")
    const [header, whole, torn] = first.journal.text.split("\n")
    first.journal.text = `${header}\n${whole}\n${torn!.slice(0, torn!.length - 7)}`
    const second = journaled(sql, first.journal)
    assert.deepEqual(second.charges(), [["whole", 10n]])
    assert.deepEqual(second.ledger.balance("a"), { balance: 90n, reserved: 0n })
  })

  it("replay charges against the balance as stored: a correction written meanwhile caps it", async () => {
    const sql = openNodeStore(":memory:")
    const first = journaled(sql)
    first.ledger.credit("a", 100n, null)
    assert.equal(await first.settleAlone("a", 80n, "req"), 80n)
    // Another process's correction, written straight to the store before the relay restarts.
    makeLedger(sql).credit("a", -50n, "correction")
    const second = journaled(sql, first.journal)
    assert.deepEqual(second.charges(), [["req", 50n]])
    assert.deepEqual(second.ledger.balance("a"), { balance: 0n, reserved: 0n })
  })

  it("a refused append fails closed: the settle is told the charge is kept, health refuses, the money stays held; freed, it is written once", async () => {
    const { ledger, journal, health, settle, settled, deferred, charges } = journaled()
    ledger.credit("a", 100n, null)
    journal.refusing = "the charge journal cannot be written: the disk is full"
    journal.partial = 25
    const { committed } = settle("a", ledger.reserve("a", 40n) as Reservation, 40n, "req")
    settled()
    await assert.rejects(committed, (error: unknown) => error instanceof ChargeKept && error.reason === "the disk is full")
    ledger.stopRetrying()
    assert.equal(health.writable, false)
    assert.equal(health.reason, "the disk is full")
    assert.deepEqual(ledger.balance("a"), { balance: 100n, reserved: 40n })
    assert.equal(ledger.pending, 1)
    // A settle meanwhile waits for the retry, behind the kept charge.
    const later = settle("a", undefined, 5n, "later").committed
    settled()
    assert.equal(await settledYet(later), false)
    journal.refusing = undefined
    ledger.commit()
    ledger.stopRetrying()
    assert.equal(await later, 5n)
    deferred()
    assert.deepEqual(charges(), [["req", 40n], ["later", 5n]])
    assert.equal(health.writable, true)
    assert.deepEqual(ledger.balance("a"), { balance: 55n, reserved: 0n })
    assert.equal(journal.text, "")
  })

  it("what a failed append left in the journal spoils no later entry", async () => {
    const store = openNodeStore(":memory:")
    let storeRefuses = false
    const sql: SqlShape = { ...store, transaction: (fn) => {
      if (storeRefuses) throw new Error("database is locked")
      return store.transaction(fn)
    } }
    const first = journaled(sql)
    first.ledger.credit("a", 100n, null)
    first.journal.refusing = "the charge journal cannot be written: the disk is full"
    // The header and part of the entry reach the disk.
    first.journal.partial = journalHeader(storeOf(sql)).length + 25
    const kept = first.settle("a", undefined, 40n, "kept").committed
    first.settled()
    first.ledger.stopRetrying()
    await assert.rejects(kept)
    assert.equal(first.journal.text.split("\n").length, 2, "a torn piece is left after the header")
    // The disk has room again: the retry appends the kept charge and a new one, the store is
    // locked for its write, and the relay dies.
    first.journal.refusing = undefined
    storeRefuses = true
    const next = first.settle("a", undefined, 5n, "next").committed
    first.ledger.commit()
    first.ledger.stopRetrying()
    assert.equal(await next, 5n)
    const second = journaled(store, first.journal)
    assert.deepEqual(second.charges(), [["kept", 40n], ["next", 5n]])
    assert.deepEqual(second.ledger.balance("a"), { balance: 55n, reserved: 0n })
  })

  it("a refused deferred write keeps the charges journaled and held, health refuses, and the retry writes them once", async () => {
    const store = openNodeStore(":memory:")
    let refusing = false
    const sql: SqlShape = {
      ...store,
      transaction: (fn) => {
        if (refusing) throw new Error("database or disk is full (SQLITE_FULL): disk is full")
        return store.transaction(fn)
      }
    }
    const { ledger, journal, health, settle, settled, deferred, charges, records } = journaled(sql)
    ledger.credit("a", 100n, null)
    const { committed } = settle("a", undefined, 30n, "req")
    settled()
    assert.equal(await committed, 30n, "durable in the journal: the answer is not held up")
    refusing = true
    deferred()
    ledger.stopRetrying()
    assert.equal(health.writable, false)
    assert.deepEqual(charges(), [])
    assert.deepEqual(ledger.balance("a"), { balance: 100n, reserved: 30n })
    assert.notEqual(journal.text, "", "the journal keeps what the store has not taken")
    refusing = false
    ledger.commit()
    assert.deepEqual(charges(), [["req", 30n]])
    assert.deepEqual(records(), [["req", 30n]])
    assert.equal(health.writable, true)
    assert.deepEqual(ledger.balance("a"), { balance: 70n, reserved: 0n })
    assert.equal(journal.text, "")
  })

  it("a journaled charge whose usage record cannot be written is still charged, and costs no other its charge", async () => {
    const sql = openNodeStore(":memory:")
    const { ledger, settled, deferred, charges, records } = journaled(sql)
    ledger.credit("a", 100n, null)
    const bad = ledger.settle("a", undefined, 7n, "bad", () => {
      throw new Error("the record cannot be written")
    }, undefined, "bad").committed
    const good = ledger.settle("a", undefined, 5n, "good", (charged) => void sql.prepare("INSERT INTO recs VALUES (?, ?)").run("good", charged), undefined, "good").committed
    settled()
    assert.deepEqual(await Promise.all([bad, good]), [7n, 5n], "both answers were delivered once journaled")
    deferred()
    assert.deepEqual(charges(), [["bad", 7n], ["good", 5n]])
    assert.deepEqual(records(), [["good", 5n]])
    assert.deepEqual(ledger.balance("a"), { balance: 88n, reserved: 0n })
  })

  it("a start that cannot write what the journal holds fails, and the journal keeps it", () => {
    const sql = openNodeStore(":memory:")
    const first = journaled(sql)
    first.ledger.credit("a", 100n, null)
    first.settle("a", undefined, 30n, "req")
    first.settled()
    const text = first.journal.text
    const refusing: SqlShape = { ...sql, transaction: () => { throw new Error("attempt to write a readonly database") } }
    assert.throws(() => journaled(refusing, first.journal), /read-only/)
    assert.equal(first.journal.text, text)
  })

  it("a journal that names another store stops the start, and neither that store nor the journal changes; beside its own store it is written", async () => {
    const own = openNodeStore(":memory:")
    const first = journaled(own)
    first.ledger.credit("a", 100n, null)
    assert.equal(await first.settleAlone("a", 30n, "req"), 30n)
    const text = first.journal.text
    // Another store, with an account of the same name: the journal's charges are not its own.
    const other = openNodeStore(":memory:")
    makeLedger(other).credit("a", 100n, null)
    assert.notEqual(storeOf(other), storeOf(own), "each store has a name of its own")
    assert.throws(() => journaled(other, first.journal), (error: Error) => {
      assert.ok(error.message.includes(`1 charge(s) of another store (${storeOf(own)}), not of this one (${storeOf(other)})`), error.message)
      return true
    })
    assert.equal(first.journal.text, text, "the journal is kept for its own store")
    assert.deepEqual(makeLedger(other).balance("a"), { balance: 100n, reserved: 0n })
    assert.equal(other.prepare("SELECT COUNT(*) AS n FROM ledger WHERE kind = 'charge'").get<{ n: number }>()!.n, 0)
    const again = journaled(own, first.journal)
    assert.deepEqual(again.charges(), [["req", 30n]])
    assert.deepEqual(again.ledger.balance("a"), { balance: 70n, reserved: 0n })
  })

  it("a journal written before journals named their store is written as before", async () => {
    const sql = openNodeStore(":memory:")
    const first = journaled(sql)
    first.ledger.credit("a", 100n, null)
    await first.settleAlone("a", 30n, "req")
    first.journal.text = first.journal.text.split("\n").slice(1).join("\n")
    const second = journaled(sql, first.journal)
    assert.deepEqual(second.charges(), [["req", 30n]])
  })

  it("a store made before stores were named gets a name of its own when it is opened", () => {
    const sql = openNodeStore(":memory:")
    makeLedger(sql)
    sql.exec("ALTER TABLE charge_journal DROP COLUMN store_id; UPDATE schema_versions SET version = 4 WHERE owner = 'billing.ledger'")
    makeLedger(sql)
    assert.match(storeOf(sql), /^[0-9a-f]{32}$/)
  })
})
