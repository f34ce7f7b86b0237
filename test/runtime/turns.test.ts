import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { inTurn, isHealthCheck, slicesThroughTimers, turn } from "../../runtime/turns.ts"

/** Holds the thread for `ms`, as a stream's settle and writes would. */
const busy = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until);
}

describe("work spread over turns of the event loop", () => {
  it("runs jobs in the order given", async () => {
    const ran: Array<number> = []
    for (let i = 0; i < 500; i++) inTurn(() => ran.push(i))
    await turn()
    assert.deepEqual(ran, Array.from({ length: 500 }, (_, i) => i))
  })

  /**
   * Queues 300 jobs made by `job`, one that sets a timer near their end, and a last one; resolves
   * with whether the timer ran before the last job. One turn running them all would hold the
   * loop 300 ms, and the timer would wait for the end.
   */
  const timerRunsBetweenSlices = async (job: () => () => void) => {
    const ran: Array<string> = []
    for (let i = 0; i < 300; i++) {
      inTurn(job())
      if (i === 280) inTurn(() => void setTimeout(() => ran.push("timer"), 0))
    }
    inTurn(() => ran.push("last job"))
    await turn()
    return ran
  }

  it("lets the loop reach its timers and sockets between slices of a large batch", async () => {
    // Each job holds the thread 1 ms, as a stream's settle and writes would.
    assert.deepEqual(await timerRunsBetweenSlices(() => () => busy(1)), ["timer", "last job"])
  })

  it("counts a job's promise reactions in its slice", async () => {
    // Each job only resolves a promise; its reaction is the costly part. A slice sized by the
    // jobs alone would take them for free and run the rest in one turn.
    const job = () => {
      let resolve!: () => void
      void new Promise<void>((r) => (resolve = r)).then(() => busy(1))
      return () => resolve()
    }
    assert.deepEqual(await timerRunsBetweenSlices(job), ["timer", "last job"])
  })

  // After the other slicing tests: the switch holds for the rest of the process, as it does on Deno.
  it("runs slices through timers in order, the loop's timers and sockets between them", async () => {
    slicesThroughTimers()
    const ran: Array<number> = []
    for (let i = 0; i < 500; i++) inTurn(() => ran.push(i))
    await turn()
    assert.deepEqual(ran, Array.from({ length: 500 }, (_, i) => i))
    assert.deepEqual(await timerRunsBetweenSlices(() => () => busy(1)), ["timer", "last job"])
  })

  it("knows the health check by its path alone", () => {
    assert.equal(isHealthCheck("http://127.0.0.1:8787/healthz"), true)
    assert.equal(isHealthCheck("https://relay.example/healthz?probe=1"), true)
    assert.equal(isHealthCheck("http://127.0.0.1:8787/healthzz"), false)
    assert.equal(isHealthCheck("http://127.0.0.1:8787/v1/healthz"), false)
  })
})
