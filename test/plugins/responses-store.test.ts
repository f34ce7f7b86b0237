import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { makeResponseStore } from "../../plugins/responses/store.ts"
import { openNodeStore } from "../../runtime/node-store.ts"

const DAY = 86_400_000

describe("the stored responses", () => {
  it("keeps a response for its account only, until its retention ends", () => {
    let now = 1_000_000
    const store = makeResponseStore(openNodeStore(":memory:"), 30 * DAY, () => now)
    store.put("acct_a", { id: "resp_1", provider: null, byok: false, response: { id: "resp_1", output: [] }, input: [{ role: "user", content: "hi" }] })
    store.put("acct_a", { id: "resp_2", provider: "openai", byok: true })
    assert.deepEqual(store.get("acct_a", "resp_1"), {
      id: "resp_1",
      provider: null,
      byok: false,
      response: { id: "resp_1", output: [] },
      input: [{ role: "user", content: "hi" }]
    })
    assert.deepEqual(store.get("acct_a", "resp_2"), { id: "resp_2", provider: "openai", byok: true, response: undefined, input: [] })
    assert.equal(store.get("acct_b", "resp_1"), undefined, "another account's id is not found")
    assert.equal(store.delete("acct_b", "resp_1"), false, "nor deleted")

    now += 30 * DAY - 1
    assert.ok(store.get("acct_a", "resp_1"))
    now += 1
    assert.equal(store.get("acct_a", "resp_1"), undefined, "expired after 30 days")
    assert.equal(store.delete("acct_a", "resp_2"), true)
  })

  it("never lets a second write replace a kept response", () => {
    const store = makeResponseStore(openNodeStore(":memory:"), DAY)
    store.put("acct_a", { id: "resp_1", provider: null, byok: false, response: { v: 1 }, input: [] })
    store.put("acct_b", { id: "resp_1", provider: null, byok: false, response: { v: 2 }, input: [] })
    assert.deepEqual(store.get("acct_a", "resp_1")?.response, { v: 1 })
    assert.equal(store.get("acct_b", "resp_1"), undefined)
  })
})
