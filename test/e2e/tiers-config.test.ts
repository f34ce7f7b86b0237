import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { type AccountView, chat, createAccount } from "../helpers/accounts.ts"
import { type RelayProcess, startRelay } from "../helpers/relay.ts"

/*
 * The limiter owns the rate-limit tiers: `limiter({ tiers, defaultTier })`. A config of the
 * earlier shape, with `tiers` and `defaultTier` at its top level, still starts and keeps its
 * limits, and the operator is told what to change.
 */

const DEPRECATION = "move them into the limiter's options, `limiter({ tiers, defaultTier })`"

const configs = mkdtempSync(join(tmpdir(), "relay-tiers-"))
const configFile = (name: string, body: string) => {
  const file = join(configs, `${name}.config.ts`)
  writeFileSync(file, `export default ({ echo, keys, limiter }) => ({ models: [{ id: "echo-1", provider: "echo", kind: "chat" }], ${body} })\n`)
  return file
}
after(() => rmSync(configs, { recursive: true, force: true }))

/** Opens an account on the relay's default tier and sends requests until one is refused. */
const firstRefusal = async (relay: RelayProcess): Promise<{ account: AccountView; refusedAt: number }> => {
  const { account, key } = await createAccount(relay, { name: "tiered" })
  for (let sent = 1; sent <= 5; sent++) {
    const response = await chat(relay, key, { model: "echo-1" })
    await response.body?.cancel()
    if (response.status === 429) return { account, refusedAt: sent }
    assert.equal(response.status, 200)
  }
  return { account, refusedAt: Infinity }
}

describe("tiers declared on the limiter", () => {
  let relay: RelayProcess
  before(async () => {
    relay = await startRelay({
      config: configFile("limiter", `plugins: [keys(), limiter({ tiers: { solo: { rpm: 2, tpm: 100_000 }, team: { rpm: 50, tpm: 500_000 } }, defaultTier: "solo" }), echo()]`)
    })
  })
  after(async () => {
    await relay?.stop()
  })

  it("put new accounts on the limiter's default tier, show its limits and enforce them, with no warning", async () => {
    const { account, refusedAt } = await firstRefusal(relay)
    assert.deepEqual({ tier: account.tier, limits: account.limits }, { tier: "solo", limits: { rpm: 2, tpm: 100_000 } })
    assert.equal(refusedAt, 3, "the third request in a minute is over the tier's 2 RPM")
    assert.ok(!relay.output().includes("deprecated"), relay.output())
  })

  it("are the only tiers an account may be put on", async () => {
    const { account } = await createAccount(relay, { name: "movable" })
    const moved = await relay.admin("PATCH", `/admin/accounts/${account.id}`, { tier: "team" })
    assert.equal(moved.status, 200)
    assert.deepEqual(((await moved.json()) as AccountView).limits, { rpm: 50, tpm: 500_000 })
    const refused = await relay.admin("PATCH", `/admin/accounts/${account.id}`, { tier: "starter" })
    assert.equal(refused.status, 400)
    const body = (await refused.json()) as { error: { message: string; param: string } }
    assert.equal(body.error.param, "tier")
    assert.equal(body.error.message, `tier: unknown tier "starter"; configured tiers: solo, team`)
  })
})

describe("a config with top-level tiers (the earlier shape)", () => {
  it("still starts with its tiers in force and tells the operator where to move them", async () => {
    const relay = await startRelay({
      config: configFile("top-level", `tiers: { solo: { rpm: 1, tpm: 100_000 } }, defaultTier: "solo", plugins: [keys(), limiter(), echo()]`)
    })
    try {
      const { account, refusedAt } = await firstRefusal(relay)
      assert.deepEqual({ tier: account.tier, limits: account.limits }, { tier: "solo", limits: { rpm: 1, tpm: 100_000 } })
      assert.equal(refusedAt, 2)
      assert.ok(relay.output().includes(DEPRECATION), relay.output())
    } finally {
      await relay.stop()
    }
  })
})
