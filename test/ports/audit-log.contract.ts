import assert from "node:assert/strict"
import type { AuditEntry, AuditLogShape } from "../../core/index.ts"
import { type ContractCase, run } from "./contract.ts"

const entry = (action: string, accountId: string | null, extra: Partial<AuditEntry> = {}): AuditEntry => ({
  at: 1_800_000_000_000,
  actor: { kind: "admin" },
  action,
  accountId,
  target: null,
  details: null,
  requestId: null,
  ...extra
})

/** The AuditLog port's contract: `make` answers a fresh, empty store each time. */
export const auditLogContract = (make: () => Promise<AuditLogShape>): ReadonlyArray<ContractCase> => [
  {
    name: "an entry is kept as recorded, with its actor, details and request id",
    run: async () => {
      const store = await make()
      const recorded = entry("POST /admin/accounts/{id}/credits", "acct_a", {
        actor: { kind: "key", accountId: "acct_a", keyId: "key_1" },
        target: "key_2",
        details: { amount: "2.50", models: ["echo-*"], metadata: { team: "ci" } },
        requestId: "req_1"
      })
      await run(store.record(recorded))
      const [listed] = await run(store.list({ limit: 10 }))
      assert.deepEqual({ ...listed, id: 0 }, { ...recorded, id: 0 })
      assert.equal(typeof listed!.id, "number")
      await run(store.record(entry("relay vault rotate", null, { actor: { kind: "cli" } })))
      assert.deepEqual((await run(store.list({ limit: 1 })))[0]!.actor, { kind: "cli" })
    }
  },
  {
    name: "entries are listed newest first, filtered by account, and paged by id",
    run: async () => {
      const store = await make()
      for (let i = 1; i <= 5; i++) await run(store.record(entry(`change ${i}`, i % 2 === 0 ? "acct_even" : "acct_odd")))
      const all = await run(store.list({ limit: 10 }))
      assert.deepEqual(all.map((e) => e.action), ["change 5", "change 4", "change 3", "change 2", "change 1"])
      assert.ok(all.every((e, i) => i === 0 || e.id < all[i - 1]!.id))
      assert.deepEqual((await run(store.list({ accountId: "acct_odd", limit: 10 }))).map((e) => e.action), ["change 5", "change 3", "change 1"])
      const page = await run(store.list({ limit: 2 }))
      const next = await run(store.list({ limit: 2, before: page[1]!.id }))
      assert.deepEqual(next.map((e) => e.action), ["change 3", "change 2"])
      assert.deepEqual((await run(store.list({ accountId: "acct_even", before: all[1]!.id, limit: 10 }))).map((e) => e.action), ["change 2"])
      assert.deepEqual(await run(store.list({ accountId: "acct_none", limit: 10 })), [])
    }
  }
]
