import assert from "node:assert/strict"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, describe, it } from "node:test"
import { makeKeyStore } from "../../plugins/keys/store.ts"
import { openNodeStore } from "../../runtime/node-store.ts"

const dir = mkdtempSync(join(tmpdir(), "relay-keys-store-"))
after(() => rmSync(dir, { recursive: true, force: true }))

describe("the key store's first account", () => {
  it("is created on an empty store only, once", () => {
    const store = makeKeyStore(openNodeStore(":memory:"), () => 1_700_000_000_000)
    const first = store.createFirstAccount("default", "starter")
    assert.equal(first?.name, "default")
    assert.equal(first?.tier, "starter")
    assert.equal(first?.createdAt, 1_700_000_000_000)
    assert.equal(store.createFirstAccount("default", "starter"), undefined)
    assert.deepEqual(store.accounts().map((account) => account.id), [first!.id])
  })

  it("is not created when another connection to the store made an account", () => {
    const file = join(dir, "shared.db")
    const relay = makeKeyStore(openNodeStore(file))
    const command = makeKeyStore(openNodeStore(file))
    const made = command.createAccount("acme", "starter")
    assert.equal(relay.createFirstAccount("default", "starter"), undefined)
    assert.deepEqual(relay.accounts().map((account) => account.name), [made.name])
  })
})
