import assert from "node:assert/strict"
import type { ConsoleSessionsShape } from "../../core/index.ts"
import { type ContractCase, run } from "./contract.ts"

const HERE = "192.0.2.1"

/** A clock the contract moves by hand. */
export interface TestClock {
  readonly now: () => number
  advance(ms: number): void
}

export const testClock = (): TestClock => {
  let at = 1_700_000_000_000
  return { now: () => at, advance: (ms) => void (at += ms) }
}

/**
 * The ConsoleSessions port's contract: `make` answers a fresh store on the clock given, whose
 * signed-in sessions last 10 s and signed-out ones 1 s.
 */
export const consoleSessionsContract = (make: (clock: TestClock) => Promise<ConsoleSessionsShape>): ReadonlyArray<ContractCase> => [
  {
    name: "a session has a fresh id and CSRF token, and is found by its id",
    run: async () => {
      const sessions = await make(testClock())
      const anonymous = await run(sessions.create(undefined, HERE))
      const admin = await run(sessions.create({ kind: "admin" }, HERE))
      assert.notEqual(anonymous.id, admin.id)
      assert.notEqual(anonymous.csrf, admin.csrf)
      assert.ok(anonymous.id.length >= 32 && anonymous.csrf.length >= 32)
      assert.deepEqual((await run(sessions.get(admin.id)))?.principal, { kind: "admin" })
      assert.equal(await run(sessions.get("nope")), undefined)
    }
  },
  {
    name: "a session ends at its time, a signed-out one sooner",
    run: async () => {
      const clock = testClock()
      const sessions = await make(clock)
      const anonymous = await run(sessions.create(undefined, HERE))
      const user = await run(sessions.create({ kind: "user", accountId: "a", keyId: "k" }, HERE))
      clock.advance(1_001)
      assert.equal(await run(sessions.get(anonymous.id)), undefined)
      assert.equal((await run(sessions.get(user.id)))?.csrf, user.csrf)
      clock.advance(9_000)
      assert.equal(await run(sessions.get(user.id)), undefined)
    }
  },
  {
    name: "a flash is handed out once, and a removed session is gone",
    run: async () => {
      const sessions = await make(testClock())
      const session = await run(sessions.create(undefined, HERE, { notice: "hello" }))
      assert.deepEqual(await run(sessions.takeFlash(session.id)), { notice: "hello" })
      assert.equal(await run(sessions.takeFlash(session.id)), undefined)
      await run(sessions.setFlash(session.id, { error: "oops" }))
      assert.deepEqual(await run(sessions.takeFlash(session.id)), { error: "oops" })
      await run(sessions.remove(session.id))
      assert.equal(await run(sessions.get(session.id)), undefined)
      assert.equal(await run(sessions.takeFlash(session.id)), undefined)
    }
  }
]
