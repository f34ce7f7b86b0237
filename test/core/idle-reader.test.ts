import assert from "node:assert/strict"
import { describe, it } from "node:test"
import type { ChunkReader } from "../../core/chunk-reader.ts"
import { idleLimited, StreamIdle } from "../../core/idle-reader.ts"

/** A reader that answers each read after the given delay, with a byte, then ends. */
const paced = (delays: ReadonlyArray<number>) => {
  let index = 0
  let cancelled = false
  const reader: ChunkReader = {
    read: () => {
      const delay = delays[index++]
      if (delay === undefined) return Promise.resolve(undefined)
      return new Promise((resolve) => setTimeout(() => resolve(cancelled ? undefined : new Uint8Array([index])), delay))
    },
    cancel: () => void (cancelled = true)
  }
  return { reader, cancelled: () => cancelled }
}

describe("idleLimited", () => {
  it("passes chunks that come within the idle time, however long the whole stream takes", async () => {
    const { reader } = paced([30, 30, 30, 30, 30, 30])
    const limited = idleLimited(reader, 100)
    let chunks = 0
    while ((await limited.read()) !== undefined) chunks++
    assert.equal(chunks, 6)
  })

  it("fails the pending read and cancels the upstream after a silence", async () => {
    const { reader, cancelled } = paced([10, 500])
    const limited = idleLimited(reader, 100)
    assert.ok((await limited.read()) instanceof Uint8Array)
    const started = Date.now()
    await assert.rejects(limited.read(), StreamIdle)
    assert.ok(Date.now() - started < 400)
    assert.equal(cancelled(), true)
    await assert.rejects(limited.read(), StreamIdle)
  })
})
