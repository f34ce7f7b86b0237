import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { connectionsThatFit, openFileLimit } from "../../runtime/open-files.ts"

describe("the connection cap that fits the open-file limit", () => {
  it("leaves two descriptors per connection after a reserve, and never less than one connection", () => {
    assert.equal(connectionsThatFit(256), 64)
    assert.equal(connectionsThatFit(20_000), 9_936)
    assert.equal(connectionsThatFit(100), 1)
  })

  it("reads this process's limit where Linux tells it, and none elsewhere", () => {
    const limit = openFileLimit()
    if (process.platform === "linux") assert.ok(limit !== undefined && Number.isInteger(limit) && limit > 0, `limit ${limit}`)
    else assert.equal(limit, undefined)
  })
})
