import assert from "node:assert/strict"
import type { AccountLimitsShape } from "../../core/index.ts"
import { type ContractCase, run } from "./contract.ts"

/** The AccountLimits port's contract: `make` answers a fresh, empty store each time. */
export const accountLimitsContract = (make: () => Promise<AccountLimitsShape>): ReadonlyArray<ContractCase> => [
  {
    name: "an account without overrides has none",
    run: async () => {
      const store = await make()
      assert.deepEqual(await run(store.get("acct_a")), { rpm: null, tpm: null })
    }
  },
  {
    name: "a change sets the fields it names, keeps the others, and null clears one",
    run: async () => {
      const store = await make()
      assert.deepEqual(await run(store.set("acct_a", { rpm: 10 })), { rpm: 10, tpm: null })
      assert.deepEqual(await run(store.set("acct_a", { tpm: 500 })), { rpm: 10, tpm: 500 })
      assert.deepEqual(await run(store.set("acct_a", { rpm: null, tpm: undefined })), { rpm: null, tpm: 500 })
      assert.deepEqual(await run(store.get("acct_a")), { rpm: null, tpm: 500 })
      assert.deepEqual(await run(store.set("acct_a", { tpm: null })), { rpm: null, tpm: null })
      assert.deepEqual(await run(store.get("acct_a")), { rpm: null, tpm: null })
    }
  },
  {
    name: "each account has its own overrides, and zero is a limit, not a clearing",
    run: async () => {
      const store = await make()
      await run(store.set("acct_a", { rpm: 0, tpm: 0 }))
      await run(store.set("acct_b", { rpm: 7 }))
      assert.deepEqual(await run(store.get("acct_a")), { rpm: 0, tpm: 0 })
      assert.deepEqual(await run(store.get("acct_b")), { rpm: 7, tpm: null })
    }
  },
  {
    name: "changes to one account at once all land",
    run: async () => {
      const store = await make()
      await Promise.all([run(store.set("acct_a", { rpm: 3 })), run(store.set("acct_a", { tpm: 4 }))])
      assert.deepEqual(await run(store.get("acct_a")), { rpm: 3, tpm: 4 })
    }
  }
]
