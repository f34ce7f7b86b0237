import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { describe, it } from "node:test"
import { installFairImmediates } from "../../runtime/deno-immediates.ts"
import { ROOT, scriptCommand } from "../helpers/runtimes.ts"

// The replacement works on any runtime: its order and clearing are checked here, on Node.
installFairImmediates()

/** Holds the thread for `ms`, as a slice of work would. */
const busy = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until);
}

/** Resolves once `done` holds, looked at every 10 ms: a loaded machine may take its time. */
const until = async (done: () => boolean) => {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 10))
}

describe("setImmediate for Deno", () => {
  it("keeps the order of immediates when a long run makes them go through timers, and passes their arguments", async () => {
    const ran: Array<number> = []
    let step = 0
    // A chain of 5 ms immediates: from the third on, the run has lasted past the yield point.
    const chain = () => {
      busy(5)
      ran.push(step)
      if (++step < 6) {
        setImmediate(chain)
        // Two more with each link, scheduled in the same moment: they run in the order given.
        setImmediate((value: number) => ran.push(value), 100 + step)
        setImmediate((value: number) => ran.push(value), 200 + step)
      }
    }
    setImmediate(chain)
    await until(() => step === 6 && ran.length === 16)
    assert.deepEqual(ran, [0, 1, 101, 201, 2, 102, 202, 3, 103, 203, 4, 104, 204, 5, 105, 205])
  })

  it("clears an immediate whether it goes as Deno's own or through a timer", async () => {
    const ran: Array<string> = []
    setImmediate(() => {
      clearImmediate(setImmediate(() => ran.push("cleared while plain")))
      busy(15)
      // The run has lasted past the yield point: these go through timers.
      const late = setImmediate(() => ran.push("cleared after the yield"))
      setImmediate(() => ran.push("kept"))
      clearImmediate(late)
      setImmediate(() => ran.push("last"))
    })
    await until(() => ran.includes("last"))
    assert.deepEqual(ran, ["kept", "last"])
    // Clearing one that has run, or nothing, is harmless.
    const done = setImmediate(() => ran.push("once"))
    await until(() => ran.includes("once"))
    clearImmediate(done)
    clearImmediate(undefined)
    setImmediate(() => ran.push("after"))
    await until(() => ran.includes("after"))
    assert.deepEqual(ran, ["kept", "last", "once", "after"])
  })

  it("on Deno, lets a request through a run of busy immediates within a few of them", () => {
    // Without it, Deno served the request only after about 110 of 200 immediates of 4 ms and
    // answered it after about 175: its I/O driver looks at the sockets every sixty-odd
    // immediates. With it, after 5 and 8. Counted in immediates rather than time.
    const { command, args } = scriptCommand("deno", "test/helpers/immediates-and-sockets.ts", ["fair"])
    const run = spawnSync(command, args, { cwd: ROOT, encoding: "utf8", timeout: 60_000 })
    assert.equal(run.status, 0, run.stderr)
    const { served, answered } = JSON.parse(run.stdout) as { served: number; answered: number }
    assert.ok(served < 30 && answered < 30, `served after ${served}, answered after ${answered} of 200 immediates`)
  })
})
