import assert from "node:assert/strict"
import { Effect } from "effect"
import type { RateWindowsShape } from "../../core/index.ts"
import { type ContractCase, run } from "./contract.ts"

const T0 = 1_700_000_000_000
const limits = { rpm: 3, tpm: 1_000 }

/** The RateWindows port's contract: `make` answers fresh, empty windows each time. */
export const rateWindowsContract = (make: () => Promise<RateWindowsShape>): ReadonlyArray<ContractCase> => [
  {
    name: "requests are admitted up to the RPM, then refused until the oldest leaves the minute",
    run: async () => {
      const windows = await make()
      for (let i = 0; i < 3; i++) assert.equal((await run(windows.admit("a", limits, 10, T0 + i * 1_000))).admitted, true)
      const refused = await run(windows.admit("a", limits, 10, T0 + 5_000))
      assert.ok(!refused.admitted)
      assert.equal(refused.reason, "rpm")
      assert.equal(refused.retryAfterSeconds, 55)
      assert.equal(refused.state.requestsRemaining, 0)
      assert.equal((await run(windows.admit("a", limits, 10, T0 + 60_001))).admitted, true)
    }
  },
  {
    name: "tokens are reserved against the TPM; a request alone above it is refused as such",
    run: async () => {
      const windows = await make()
      const admitted = await run(windows.admit("a", limits, 800, T0))
      assert.ok(admitted.admitted)
      assert.equal(admitted.state.tokensRemaining, 200)
      const full = await run(windows.admit("a", limits, 300, T0 + 1_000))
      assert.ok(!full.admitted)
      assert.equal(full.reason, "tpm")
      const huge = await run(windows.admit("b", limits, 1_001, T0))
      assert.ok(!huge.admitted)
      assert.equal(huge.reason, "tpm_exceeded_by_request")
    }
  },
  {
    name: "settle puts the tokens really used in place of the reservation",
    run: async () => {
      const windows = await make()
      const admitted = await run(windows.admit("a", limits, 900, T0))
      assert.ok(admitted.admitted)
      await run(windows.settle("a", admitted.ticket, 100, T0 + 500))
      assert.equal((await run(windows.peek("a", limits, T0 + 600))).tokensRemaining, 900)
      assert.equal((await run(windows.admit("a", limits, 800, T0 + 700))).admitted, true)
    }
  },
  {
    name: "release undoes an admission: its request leaves the window and its tokens go back",
    run: async () => {
      const windows = await make()
      const first = await run(windows.admit("a", limits, 100, T0))
      const second = await run(windows.admit("a", limits, 800, T0))
      assert.ok(first.admitted && second.admitted)
      await run(windows.release("a", second.ticket, T0 + 10))
      assert.deepEqual(await run(windows.peek("a", limits, T0 + 20)), { requestsRemaining: 2, resetSeconds: 60, tokensRemaining: 900 })
      // The first request is still counted: two more fit in its minute, not three.
      assert.equal((await run(windows.admit("a", limits, 10, T0 + 30))).admitted, true)
      assert.equal((await run(windows.admit("a", limits, 10, T0 + 40))).admitted, true)
      const refused = await run(windows.admit("a", limits, 10, T0 + 50))
      assert.ok(!refused.admitted)
      assert.equal(refused.reason, "rpm")
    }
  },
  {
    name: "peek counts nothing, and accounts have their own windows",
    run: async () => {
      const windows = await make()
      assert.deepEqual(await run(windows.peek("a", limits, T0)), { requestsRemaining: 3, resetSeconds: 0, tokensRemaining: 1_000 })
      await run(windows.admit("a", limits, 100, T0))
      const state = await run(windows.peek("a", limits, T0 + 1_000))
      assert.deepEqual(state, { requestsRemaining: 2, resetSeconds: 59, tokensRemaining: 900 })
      assert.deepEqual(await run(windows.peek("a", limits, T0 + 1_000)), state)
      assert.deepEqual(await run(windows.peek("b", limits, T0 + 1_000)), { requestsRemaining: 3, resetSeconds: 0, tokensRemaining: 1_000 })
    }
  },
  {
    name: "admissions made at once never pass the RPM together",
    run: async () => {
      const windows = await make()
      const results = await run(Effect.all(Array.from({ length: 10 }, () => windows.admit("a", limits, 1, T0)), { concurrency: "unbounded" }))
      assert.equal(results.filter((admission) => admission.admitted).length, 3)
    }
  }
]
