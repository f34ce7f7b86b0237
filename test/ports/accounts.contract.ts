import assert from "node:assert/strict"
import type { AccountsShape } from "../../core/index.ts"
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
      assert.deepEqual({ ...first, createdAt: 0 }, { id: first.id, name: "acme", tier: "starter", createdAt: 0 })
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
      assert.deepEqual(await run(store.callerByHash("h1")), { keyId: key.id, account: { ...account } })
      assert.deepEqual(await run(store.callerByKeyId(key.id)), { keyId: key.id, account: { ...account } })
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
  }
]
