import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { LogOut } from "../../runtime/log-out.ts"

/** An output that takes `room` bytes, then nothing until given more room. */
const output = (room: number) => {
  const state = { room, taken: "", calls: 0 }
  const tryWrite = (bytes: Uint8Array) => {
    state.calls++
    const n = Math.min(state.room, bytes.length)
    state.room -= n
    state.taken += Buffer.from(bytes.subarray(0, n)).toString()
    return n
  }
  return { state, tryWrite }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe("the log output", () => {
  it("writes the lines of one turn together, in order, in one write at the end of the turn", async () => {
    const { state, tryWrite } = output(1_000)
    const out = new LogOut(tryWrite, 1_000)
    out.write("one\n")
    out.write("two\n")
    assert.equal(state.calls, 0)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(state.taken, "one\ntwo\n")
    assert.equal(state.calls, 1)
    out.write("three\n")
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(state.taken, "one\ntwo\nthree\n")
    assert.equal(state.calls, 2)
  })

  it("never waits on a full output: lines wait in order, a cut line is finished first, and all go out once it drains", async () => {
    const { state, tryWrite } = output(6)
    const out = new LogOut(tryWrite, 1_000)
    out.write("first line\n")
    out.write("second\n")
    out.write("third\n")
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(state.taken, "first ")
    const callsWhileFull = state.calls
    await sleep(50)
    assert.ok(state.calls > callsWhileFull, "the output is tried again")
    state.room = 1_000
    await sleep(100)
    assert.equal(state.taken, "first line\nsecond\nthird\n")
  })

  it("drops whole lines past its bound instead of growing, and flushes what waits on demand", async () => {
    const { state, tryWrite } = output(0)
    const out = new LogOut(tryWrite, 12)
    out.write("line-1\n")
    out.write("line-2\n")
    out.write("line-3\n")
    state.room = 1_000
    await out.flush()
    assert.equal(state.taken, "line-1\n")
  })

  it("gives up flushing an output that takes nothing once the time given has passed", () => {
    const { state, tryWrite } = output(0)
    const out = new LogOut(tryWrite, 1_000)
    out.write("never taken\n")
    out.flushSync(50)
    assert.equal(state.taken, "")
    assert.ok(state.calls >= 1)
  })
})
