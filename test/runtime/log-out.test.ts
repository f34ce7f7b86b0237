import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { mkdtempSync, openSync, readSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, it } from "node:test"
import { LogOut, streamWriter } from "../../runtime/log-out.ts"

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

describe("stdout as a stream (Deno's log output)", () => {
  it("takes lines until a bounded amount waits for a reader that lags, refuses the rest at once, and writes all it took in order once read", async () => {
    const fifo = join(mkdtempSync(join(tmpdir(), "log-stream-")), "log.fifo")
    execFileSync("mkfifo", [fifo])
    // Opened blocking, as Deno hands a relay its stdout; nobody reads it yet.
    const output = streamWriter(openSync(fifo, "r+"))!
    const line = Buffer.alloc(1_024, "x")
    let taken = 0
    let refused = 0
    for (let i = 0; i < 1_024; i++) {
      const took = output.tryWrite(line)
      taken += took
      if (took === 0) refused++
    }
    assert.ok(taken >= 64 * 1_024 && taken <= 256 * 1_024, `a bounded amount taken: ${taken}`)
    assert.equal(refused * line.length + taken, 1_024 * line.length, "the rest refused, not cut")
    let settled = false
    void output.settled().then(() => (settled = true))
    await sleep(20)
    assert.equal(settled, false, "what waits for the reader is not written yet")
    const reader = openSync(fifo, "r")
    const buffer = Buffer.alloc(taken)
    for (let read = 0; read < taken; ) {
      read += readSync(reader, buffer, read, taken - read, null)
      // The event loop moves what waits into the pipe as the reader makes room.
      await sleep(1)
    }
    assert.equal(buffer.toString(), "x".repeat(taken))
    for (let waited = 0; !settled && waited < 2_000; waited += 10) await sleep(10)
    assert.equal(settled, true, "settles once all it took is written")
  })

  it("is none for a file, which never keeps a write waiting", () => {
    const file = openSync(join(mkdtempSync(join(tmpdir(), "log-file-")), "log"), "w")
    assert.equal(streamWriter(file), undefined)
  })
})
