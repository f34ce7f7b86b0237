import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { backgroundWriter, LogOut } from "../../runtime/log-out.ts"

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

/** A write done elsewhere: it settles only when `finish` is called, taking at most `most` bytes. */
const slowOutput = (most: number) => {
  const state = { taken: "", writes: 0 }
  const finishers: Array<() => void> = []
  const write = (bytes: Uint8Array) =>
    new Promise<number>((resolve) => {
      state.writes++
      finishers.push(() => {
        const n = Math.min(most, bytes.length)
        state.taken += Buffer.from(bytes.subarray(0, n)).toString()
        resolve(n)
      })
    })
  const finishAll = async () => {
    while (finishers.length > 0) {
      finishers.shift()!()
      await sleep(0)
    }
  }
  return { state, write, finishAll }
}

describe("an output written in the background", () => {
  it("never holds the caller while a write is out: lines gather, in order, into the next write, and a short write is finished first", async () => {
    const { state, write, finishAll } = slowOutput(4)
    const { tryWrite, settled } = backgroundWriter(write, 1_000)
    const out = new LogOut(tryWrite, 1_000, settled)
    out.write("first\n")
    // The turn's lines go out at its end: the first write is then out, and stays out.
    await new Promise((resolve) => setImmediate(resolve))
    out.write("second\n")
    out.write("third\n")
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(state.writes, 1, "one write out; the lines after it wait for it")
    await finishAll()
    assert.equal(state.taken, "first\nsecond\nthird\n")
    assert.ok(state.writes <= 6, `the lines that waited went out together (${state.writes} writes)`)
  })

  it("takes no more than its bound while a write is out, and flushing waits until everything is written", async () => {
    const { state, write, finishAll } = slowOutput(1_000)
    const { tryWrite, settled } = backgroundWriter(write, 10)
    assert.equal(tryWrite(Buffer.from("0123456789")), 10, "the first write takes what it may")
    assert.equal(tryWrite(Buffer.from("abcdefghij")), 10, "lines gather while it is out, up to the bound")
    assert.equal(tryWrite(Buffer.from("x")), 0, "and no further")
    const out = new LogOut(tryWrite, 1_000, settled)
    out.write("\nlast\n")
    const flushed = out.flush()
    let done = false
    void flushed.then(() => (done = true))
    await sleep(30)
    assert.equal(done, false, "nothing is written yet")
    const finishing = (async () => {
      while (!done) {
        await finishAll()
        await sleep(5)
      }
    })()
    await flushed
    await finishing
    assert.equal(state.taken, "0123456789abcdefghij\nlast\n")
  })

  it("drops what it took when the output fails, and writes later lines", async () => {
    let fail = true
    const taken: Array<string> = []
    const { tryWrite, settled } = backgroundWriter(async (bytes) => {
      if (fail) throw new Error("EPIPE")
      taken.push(Buffer.from(bytes).toString())
      return bytes.length
    })
    tryWrite(Buffer.from("lost\n"))
    await settled()
    fail = false
    tryWrite(Buffer.from("kept\n"))
    await settled()
    assert.deepEqual(taken, ["kept\n"])
  })
})
