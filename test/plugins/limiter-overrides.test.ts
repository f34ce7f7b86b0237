import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { Effect, Layer } from "effect"
import { AccountLimits, type AccountLimitsShape, Sql, type SqlShape } from "../../core/index.ts"
import { makeKeyStore } from "../../plugins/keys/store.ts"
import { sqliteAccountLimits } from "../../plugins/limiter/index.ts"
import { tiersWithOverrides } from "../../plugins/limiter/overrides.ts"
import { openNodeStore } from "../../runtime/node-store.ts"

const limitsOn = (sql: SqlShape): Promise<AccountLimitsShape> =>
  Effect.runPromise(Effect.provide(AccountLimits, Layer.provide(sqliteAccountLimits, Layer.succeed(Sql, sql))))

describe("the limiter's overrides in SQLite", () => {
  it("bring along the overrides a store kept as columns of accounts, before the limiter kept them", async () => {
    const sql = openNodeStore(":memory:")
    const keys = makeKeyStore(sql)
    const held = keys.createAccount("held", "starter")
    const free = keys.createAccount("free", "starter")
    // As the keys plugin wrote them when it kept per-account limits.
    sql.prepare("UPDATE accounts SET rpm = 5, tpm = NULL WHERE id = ?").run(held.id)
    const limits = await limitsOn(sql)
    assert.deepEqual(await Effect.runPromise(limits.get(held.id)), { rpm: 5, tpm: null })
    assert.deepEqual(await Effect.runPromise(limits.get(free.id)), { rpm: null, tpm: null })
  })

  it("start on a store that has no accounts yet", async () => {
    const limits = await limitsOn(openNodeStore(":memory:"))
    assert.deepEqual(await Effect.runPromise(limits.set("acct_a", { tpm: 9 })), { rpm: null, tpm: 9 })
  })
})

describe("the limiter's effective limits", () => {
  const tiers = { starter: { rpm: 3, tpm: 1_000 }, pro: { rpm: 100, tpm: 50_000 } }
  const account = { id: "acct_a", name: "a", tier: "pro" }

  it("take a change through this relay at once, and one from another process within the revalidation time", async () => {
    const sql = openNodeStore(":memory:")
    const store = await limitsOn(sql)
    let clock = 0
    const announced: Array<string> = []
    const limiter = tiersWithOverrides({ tiers, defaultTier: "starter", store, revalidateMs: 500, maxEntries: 10, now: () => clock, announce: (id) => announced.push(id) }).tiers
    const limitsNow = () => Effect.runPromise(limiter.limitsFor(account))
    assert.deepEqual(await limitsNow(), { rpm: 100, tpm: 50_000 })
    await Effect.runPromise(limiter.setOverrides(account.id, { rpm: 7 }))
    assert.deepEqual(await limitsNow(), { rpm: 7, tpm: 50_000 })
    assert.deepEqual(announced, [account.id], "the other nodes are told")
    // Another process (the command line, another node) changes the store behind the cache.
    await Effect.runPromise(store.set(account.id, { rpm: null, tpm: 11 }))
    assert.deepEqual(await limitsNow(), { rpm: 7, tpm: 50_000 }, "trusted until it is revalidated")
    clock = 500
    assert.deepEqual(await limitsNow(), { rpm: 100, tpm: 11 })
  })

  it("hold an account on an unknown tier to the default tier's, overrides aside", async () => {
    const store = await limitsOn(openNodeStore(":memory:"))
    const limiter = tiersWithOverrides({ tiers, defaultTier: "starter", store, revalidateMs: 500, maxEntries: 10, now: Date.now, announce: () => undefined }).tiers
    assert.deepEqual(await Effect.runPromise(limiter.limitsFor({ ...account, tier: "gone" })), { rpm: 3, tpm: 1_000 })
    await Effect.runPromise(limiter.setOverrides(account.id, { tpm: 5 }))
    assert.deepEqual(await Effect.runPromise(limiter.limitsFor({ ...account, tier: "gone" })), { rpm: 3, tpm: 5 })
  })

  it("take a change another node announced at once, and read every account again after missed announcements", async () => {
    const store = await limitsOn(openNodeStore(":memory:"))
    const { tiers: limiter, forget } = tiersWithOverrides({ tiers, defaultTier: "starter", store, revalidateMs: 60_000, maxEntries: 10, now: Date.now, announce: () => undefined })
    const other = { ...account, id: "acct_b" }
    assert.deepEqual(await Effect.runPromise(limiter.limitsFor(account)), { rpm: 100, tpm: 50_000 })
    assert.deepEqual(await Effect.runPromise(limiter.limitsFor(other)), { rpm: 100, tpm: 50_000 })
    await Effect.runPromise(store.set(account.id, { rpm: 2 }))
    await Effect.runPromise(store.set(other.id, { rpm: 3 }))
    forget(account.id)
    assert.deepEqual(await Effect.runPromise(limiter.limitsFor(account)), { rpm: 2, tpm: 50_000 })
    assert.deepEqual(await Effect.runPromise(limiter.limitsFor(other)), { rpm: 100, tpm: 50_000 }, "only the announced account")
    forget(undefined)
    assert.deepEqual(await Effect.runPromise(limiter.limitsFor(other)), { rpm: 3, tpm: 50_000 })
  })
})
