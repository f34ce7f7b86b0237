import assert from "node:assert/strict"
import type { StoredResponsesShape } from "../../core/index.ts"
import { type ContractCase, run } from "./contract.ts"

const DAY = 86_400_000

/** The StoredResponses port's contract: `make` answers a fresh store. */
export const storedResponsesContract = (make: () => Promise<StoredResponsesShape>): ReadonlyArray<ContractCase> => [
  {
    name: "keeps a response for its account only, until it expires",
    run: async () => {
      const store = await make()
      let now = 1_000_000
      const expires = now + 30 * DAY
      await run(store.put("acct_a", { id: "resp_1", provider: null, byok: false, response: { id: "resp_1", output: [] }, input: [{ role: "user", content: "hi" }] }, now, expires))
      await run(store.put("acct_a", { id: "resp_2", provider: "openai", byok: true }, now, expires))
      assert.deepEqual(await run(store.get("acct_a", "resp_1", now)), {
        id: "resp_1",
        provider: null,
        byok: false,
        response: { id: "resp_1", output: [] },
        input: [{ role: "user", content: "hi" }]
      })
      assert.deepEqual(await run(store.get("acct_a", "resp_2", now)), { id: "resp_2", provider: "openai", byok: true, response: undefined, input: [] })
      assert.equal(await run(store.get("acct_b", "resp_1", now)), undefined, "another account's id is not found")
      assert.equal(await run(store.remove("acct_b", "resp_1")), false, "nor deleted")

      now += 30 * DAY - 1
      assert.ok(await run(store.get("acct_a", "resp_1", now)))
      now += 1
      assert.equal(await run(store.get("acct_a", "resp_1", now)), undefined, "expired after 30 days")
      assert.equal(await run(store.remove("acct_a", "resp_2")), true)
      assert.equal(await run(store.get("acct_a", "resp_2", 1_000_000)), undefined, "deleted")
    }
  },
  {
    name: "never lets a second write replace a kept response",
    run: async () => {
      const store = await make()
      await run(store.put("acct_a", { id: "resp_1", provider: null, byok: false, response: { v: 1 }, input: [] }, 0, DAY))
      await run(store.put("acct_b", { id: "resp_1", provider: null, byok: false, response: { v: 2 }, input: [] }, 0, DAY))
      assert.deepEqual((await run(store.get("acct_a", "resp_1", 0)))?.response, { v: 1 })
      assert.equal(await run(store.get("acct_b", "resp_1", 0)), undefined)
    }
  }
]
