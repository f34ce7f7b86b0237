import assert from "node:assert/strict"
import { type AccountsShape, type KeyRestrictions, NO_RESTRICTIONS } from "../../core/index.ts"
import { type ContractCase, run } from "./contract.ts"

/** The Accounts port's contract: `make` answers a fresh, empty store each time. */
export const accountsContract = (make: () => Promise<AccountsShape>): ReadonlyArray<ContractCase> => [
  {
    name: "an account is created with no overrides, found by id, and listed",
    run: async () => {
      const store = await make()
      const first = await run(store.createAccount("acme", "starter"))
      const second = await run(store.createAccount("globex", "pro"))
      assert.match(first.id, /^acct_/)
      assert.notEqual(first.id, second.id)
      assert.deepEqual({ ...first, createdAt: 0 }, { id: first.id, name: "acme", tier: "starter", createdAt: 0, suspendedAt: null, deletedAt: null })
      assert.deepEqual(await run(store.account(second.id)), second)
      assert.equal(await run(store.account("acct_none")), undefined)
      // Oldest first; two made in the same millisecond may come in either order.
      assert.deepEqual((await run(store.accounts())).map((account) => account.name).sort(), ["acme", "globex"])
    }
  },
  {
    name: "the first account is created on an empty store only, once",
    run: async () => {
      const store = await make()
      const first = await run(store.createFirstAccount("default", "starter"))
      assert.equal(first?.name, "default")
      assert.equal(await run(store.createFirstAccount("default", "starter")), undefined)
      assert.deepEqual((await run(store.accounts())).map((account) => account.id), [first!.id])
    }
  },
  {
    name: "an update sets the tier, a change naming none keeps it, and an unknown account is undefined",
    run: async () => {
      const store = await make()
      const account = await run(store.createAccount("acme", "starter"))
      const raised = await run(store.updateAccount(account.id, { tier: "pro" }))
      assert.equal(raised?.tier, "pro")
      const kept = await run(store.updateAccount(account.id, {}))
      assert.equal(kept?.tier, "pro")
      assert.deepEqual(await run(store.account(account.id)), kept)
      assert.equal(await run(store.updateAccount("acct_none", { tier: "pro" })), undefined)
    }
  },
  {
    name: "a key finds its caller by hash and by id until it is revoked, once",
    run: async () => {
      const store = await make()
      const account = await run(store.createAccount("acme", "starter"))
      const key = await run(store.createKey(account.id, "ci", { prefix: "sk-rr-abc", hash: "h1" }))
      assert.deepEqual([key.account_id, key.name, key.prefix, key.revoked_at], [account.id, "ci", "sk-rr-abc", null])
      assert.deepEqual(await run(store.key(key.id)), key)
      assert.deepEqual(key.restrictions, NO_RESTRICTIONS)
      assert.deepEqual(await run(store.callerByHash("h1")), { keyId: key.id, account: { ...account }, key: NO_RESTRICTIONS })
      assert.deepEqual(await run(store.callerByKeyId(key.id)), { keyId: key.id, account: { ...account }, key: NO_RESTRICTIONS })
      assert.equal(await run(store.callerByHash("h2")), undefined)
      assert.equal(await run(store.revokeKey(key.id)), true)
      assert.equal(await run(store.revokeKey(key.id)), false)
      assert.equal(await run(store.callerByHash("h1")), undefined)
      assert.equal(await run(store.callerByKeyId(key.id)), undefined)
      const [listed] = await run(store.keys(account.id))
      assert.equal(listed?.id, key.id)
      assert.equal(typeof listed?.revoked_at, "number")
    }
  },
  {
    name: "a caller carries the account as it is now",
    run: async () => {
      const store = await make()
      const account = await run(store.createAccount("acme", "starter"))
      const key = await run(store.createKey(account.id, null, { prefix: "sk-rr-abc", hash: "h1" }))
      await run(store.updateAccount(account.id, { tier: "pro" }))
      assert.equal((await run(store.callerByKeyId(key.id)))?.account.tier, "pro")
      assert.deepEqual(await run(store.keys("acct_none")), [])
    }
  },
  {
    name: "a key keeps its restrictions exactly (a spend limit past 2^53 nano-USD too), and an update changes only what it names",
    run: async () => {
      const store = await make()
      const account = await run(store.createAccount("acme", "starter"))
      const restrictions: KeyRestrictions = {
        spendLimit: 9_007_199_254_740_993n,
        spendPeriod: "month",
        models: ["gpt-4o-mini", "claude-*"],
        expiresAt: 1_900_000_000_000,
        rpm: 10,
        tpm: 1_000,
        metadata: { team: "ci", nested: { run: 7 } }
      }
      const key = await run(store.createKey(account.id, "ci", { prefix: "sk-rr-abc", hash: "h1" }, restrictions))
      assert.deepEqual(key.restrictions, restrictions)
      assert.deepEqual((await run(store.callerByHash("h1")))?.key, restrictions)
      const updated = await run(store.updateKey(key.id, { spendLimit: 5_000_000_000n, models: null, name: "ci-2" }))
      assert.deepEqual(updated?.restrictions, { ...restrictions, spendLimit: 5_000_000_000n, models: null })
      assert.equal(updated?.name, "ci-2")
      assert.deepEqual(await run(store.key(key.id)), updated)
      assert.deepEqual((await run(store.keys(account.id)))[0], updated)
      assert.equal(await run(store.updateKey("key_none", { rpm: 1 })), undefined)
    }
  },
  {
    name: "a suspended account's callers say so until it is resumed",
    run: async () => {
      const store = await make()
      const account = await run(store.createAccount("acme", "starter"))
      await run(store.createKey(account.id, null, { prefix: "sk-rr-abc", hash: "h1" }))
      const suspended = await run(store.setSuspended(account.id, true))
      assert.equal(typeof suspended?.suspendedAt, "number")
      assert.equal(typeof (await run(store.callerByHash("h1")))?.account.suspendedAt, "number")
      const resumed = await run(store.setSuspended(account.id, false))
      assert.equal(resumed?.suspendedAt, null)
      assert.equal((await run(store.callerByHash("h1")))?.account.suspendedAt, null)
      assert.equal(await run(store.setSuspended("acct_none", true)), undefined)
    }
  },
  {
    name: "a deleted account's keys are revoked, it is listed no more, its row is kept, and it is deleted once",
    run: async () => {
      const store = await make()
      const account = await run(store.createAccount("acme", "starter"))
      const other = await run(store.createAccount("acme", "starter"))
      const key = await run(store.createKey(account.id, null, { prefix: "sk-rr-abc", hash: "h1" }))
      await run(store.createKey(other.id, null, { prefix: "sk-rr-def", hash: "h2" }))
      assert.equal(await run(store.deleteAccount(account.id)), true)
      assert.equal(await run(store.deleteAccount(account.id)), false)
      assert.equal(await run(store.callerByHash("h1")), undefined)
      assert.equal(await run(store.callerByKeyId(key.id)), undefined)
      assert.equal(typeof (await run(store.key(key.id)))?.revoked_at, "number")
      assert.equal(typeof (await run(store.account(account.id)))?.deletedAt, "number")
      assert.deepEqual((await run(store.accounts())).map((a) => a.id), [other.id])
      assert.equal((await run(store.callerByHash("h2")))?.account.id, other.id, "other accounts' keys still work")
      assert.equal(await run(store.setSuspended(account.id, true)), undefined, "a deleted account is not suspended or resumed")
    }
  }
]
