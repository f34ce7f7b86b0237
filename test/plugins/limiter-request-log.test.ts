import assert from "node:assert/strict"
import { describe, it } from "node:test"
import fc from "fast-check"
import { RequestLog, WINDOW_MS } from "../../plugins/limiter/window.ts"

const T0 = 1_700_000_000_000

/** Admitted times inside the window ending at `now`, as the log is specified: time > now - 60 s. */
const inWindow = (admitted: ReadonlyArray<number>, now: number) => admitted.filter((t) => t > now - WINDOW_MS && t <= now).length

/** The largest number of admitted times inside any half-open span [s, s + 60 s). */
const densestSpan = (admitted: ReadonlyArray<number>) => {
  let max = 0
  // The densest span can always be slid to start at an admitted time.
  for (const start of admitted) max = Math.max(max, admitted.filter((t) => t >= start && t < start + WINDOW_MS).length)
  return max
}

/** Non-decreasing timestamps built from random gaps (zero gaps give same-millisecond bursts). */
const timestamps = (maxGap: number, maxLength: number) =>
  fc.array(fc.integer({ min: 0, max: maxGap }), { minLength: 1, maxLength }).map((gaps) => {
    let t = T0
    return gaps.map((gap) => (t += gap))
  })

describe("RequestLog boundary", () => {
  it("the window is 60 seconds", () => {
    assert.equal(WINDOW_MS, 60_000)
  })

  it("counts a request until 60 000 ms later, exclusive", () => {
    const log = new RequestLog()
    assert.equal(log.tryAdd(T0, 5), true)
    assert.equal(log.size(T0), 1)
    assert.equal(log.size(T0 + 1), 1)
    assert.equal(log.size(T0 + WINDOW_MS - 1), 1)
    assert.equal(log.size(T0 + WINDOW_MS), 0)
    assert.equal(log.size(T0 + WINDOW_MS + 1), 0)
  })

  it("an empty log has size 0 and nothing to wait for", () => {
    const log = new RequestLog()
    assert.equal(log.size(T0), 0)
    assert.equal(log.msUntilFree(T0), 0)
  })

  it("msUntilFree counts down to the moment the oldest request leaves", () => {
    const log = new RequestLog()
    log.tryAdd(T0, 2)
    log.tryAdd(T0 + 10_000, 2)
    assert.equal(log.msUntilFree(T0), WINDOW_MS)
    assert.equal(log.msUntilFree(T0 + 1), WINDOW_MS - 1)
    assert.equal(log.msUntilFree(T0 + 59_999), 1)
    // The oldest has gone: the next one to leave is the second request.
    assert.equal(log.msUntilFree(T0 + WINDOW_MS), 10_000)
    assert.equal(log.msUntilFree(T0 + 10_000 + WINDOW_MS), 0)
  })

  it("a limit of zero admits nothing", () => {
    const log = new RequestLog()
    assert.equal(log.tryAdd(T0, 0), false)
    assert.equal(log.size(T0), 0)
  })
})

describe("RequestLog burst and refill", () => {
  it("admits exactly `limit` requests in the same millisecond and refuses the next", () => {
    const log = new RequestLog()
    for (let i = 0; i < 10; i++) assert.equal(log.tryAdd(T0, 10), true, `request ${i}`)
    assert.equal(log.tryAdd(T0, 10), false)
    assert.equal(log.tryAdd(T0 + WINDOW_MS - 1, 10), false)
    assert.equal(log.size(T0 + WINDOW_MS - 1), 10)
  })

  it("a refused request is not recorded", () => {
    const log = new RequestLog()
    log.tryAdd(T0, 1)
    for (let i = 0; i < 5; i++) assert.equal(log.tryAdd(T0 + i, 1), false)
    assert.equal(log.size(T0 + 5), 1)
    // Only the admitted one is waited for, not the refused ones.
    assert.equal(log.msUntilFree(T0 + 5), WINDOW_MS - 5)
  })

  it("when the oldest expires exactly one more request is admitted", () => {
    const log = new RequestLog()
    log.tryAdd(T0, 3)
    log.tryAdd(T0 + 100, 3)
    log.tryAdd(T0 + 200, 3)
    assert.equal(log.tryAdd(T0 + WINDOW_MS - 1, 3), false)
    assert.equal(log.tryAdd(T0 + WINDOW_MS, 3), true)
    assert.equal(log.tryAdd(T0 + WINDOW_MS, 3), false)
    assert.equal(log.tryAdd(T0 + WINDOW_MS + 99, 3), false)
    assert.equal(log.tryAdd(T0 + WINDOW_MS + 100, 3), true)
    assert.equal(log.tryAdd(T0 + WINDOW_MS + 100, 3), false)
  })

  it("keeps working after the ring wraps around many times", () => {
    const log = new RequestLog()
    let admitted = 0
    // One request every 12 s under a limit of 5: each one is admitted, forever.
    for (let i = 0; i < 1_000; i++) if (log.tryAdd(T0 + i * 12_000, 5)) admitted++
    assert.equal(admitted, 1_000)
    assert.equal(log.size(T0 + 999 * 12_000), 5)
  })
})

describe("RequestLog memory", () => {
  it("a huge limit costs only the requests made: an unlimited tier does not allocate for its limit", () => {
    const log = new RequestLog()
    const limit = 1_000_000_000
    const before = process.memoryUsage().arrayBuffers
    for (let i = 0; i < 3_000; i++) assert.equal(log.tryAdd(i, limit), true)
    assert.equal(log.size(2_999), 3_000)
    const grown = process.memoryUsage().arrayBuffers - before
    assert.ok(grown < 1024 * 1024, `the ring grew by what it holds, not to the limit (${grown} bytes)`)
  })
})

describe("RequestLog limit changes", () => {
  it("raising the limit mid-window keeps the old entries", () => {
    const log = new RequestLog()
    for (let i = 0; i < 3; i++) assert.equal(log.tryAdd(T0 + i, 3), true)
    assert.equal(log.tryAdd(T0 + 10, 3), false)
    // Raised to 5: two more, not five more.
    assert.equal(log.tryAdd(T0 + 20, 5), true)
    assert.equal(log.tryAdd(T0 + 21, 5), true)
    assert.equal(log.tryAdd(T0 + 22, 5), false)
    assert.equal(log.size(T0 + 22), 5)
    // The old entries still leave at their own times, oldest first.
    assert.equal(log.msUntilFree(T0 + 22), WINDOW_MS - 22)
    assert.equal(log.size(T0 + WINDOW_MS), 4)
    assert.equal(log.size(T0 + WINDOW_MS + 2), 2)
    assert.equal(log.size(T0 + WINDOW_MS + 20), 1)
    assert.equal(log.size(T0 + WINDOW_MS + 21), 0)
  })

  it("raising the limit after the ring has wrapped keeps the order of the entries", () => {
    const log = new RequestLog()
    // Fill a ring of 3, let two expire and add two more so that head is in the middle.
    log.tryAdd(T0, 3)
    log.tryAdd(T0 + 1_000, 3)
    log.tryAdd(T0 + 2_000, 3)
    assert.equal(log.tryAdd(T0 + WINDOW_MS + 1_000, 3), true)
    assert.equal(log.tryAdd(T0 + WINDOW_MS + 1_500, 3), true)
    assert.equal(log.size(T0 + WINDOW_MS + 1_500), 3)
    // Grow to 4: the entries are at +2 000, +61 000, +61 500 from T0.
    assert.equal(log.tryAdd(T0 + WINDOW_MS + 1_600, 4), true)
    assert.equal(log.msUntilFree(T0 + WINDOW_MS + 1_600), 400)
    assert.equal(log.size(T0 + WINDOW_MS + 2_000), 3)
    assert.equal(log.msUntilFree(T0 + WINDOW_MS + 2_000), WINDOW_MS - 1_000)
  })

  it("lowering the limit refuses until the window drains below it", () => {
    const log = new RequestLog()
    for (let i = 0; i < 4; i++) log.tryAdd(T0 + i * 1_000, 4)
    assert.equal(log.tryAdd(T0 + 5_000, 2), false)
    assert.equal(log.tryAdd(T0 + WINDOW_MS + 1_000, 2), false)
    assert.equal(log.tryAdd(T0 + WINDOW_MS + 2_000, 2), true)
    assert.equal(log.size(T0 + WINDOW_MS + 2_000), 2)
  })
})

describe("RequestLog properties", () => {
  it("never admits more than `limit` in any half-open 60 s span", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), timestamps(30_000, 80), (limit, times) => {
        const log = new RequestLog()
        const admitted = times.filter((t) => log.tryAdd(t, limit))
        assert.ok(densestSpan(admitted) <= limit, `densest span ${densestSpan(admitted)} > ${limit}`)
      }),
      { numRuns: 300 }
    )
  })

  it("admits exactly when fewer than `limit` admitted requests are in the window (no needless refusal)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), timestamps(20_000, 80), (limit, times) => {
        const log = new RequestLog()
        const admitted: Array<number> = []
        for (const t of times) {
          const expected = inWindow(admitted, t) < limit
          assert.equal(log.tryAdd(t, limit), expected)
          if (expected) admitted.push(t)
          assert.equal(log.size(t), inWindow(admitted, t))
        }
      }),
      { numRuns: 300 }
    )
  })

  it("matches the reference model when the limit changes from request to request", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 15_000 }), fc.integer({ min: 0, max: 10 })), { minLength: 1, maxLength: 120 }),
        (steps) => {
          const log = new RequestLog()
          const admitted: Array<number> = []
          let t = T0
          for (const [gap, limit] of steps) {
            t += gap
            const expected = inWindow(admitted, t) < limit
            assert.equal(log.tryAdd(t, limit), expected)
            if (expected) admitted.push(t)
            const live = admitted.filter((a) => a > t - WINDOW_MS)
            assert.equal(log.size(t), live.length)
            assert.equal(log.msUntilFree(t), live.length === 0 ? 0 : live[0]! + WINDOW_MS - t)
          }
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe("RequestLog remove (an admission undone)", () => {
  it("takes out the request made at that time, across the ring's wrap, and keeps the others in order", () => {
    const log = new RequestLog()
    // Sixteen requests a second apart fill the ring; the first four leave, four more wrap round.
    for (let i = 0; i < 16; i++) assert.ok(log.tryAdd(T0 + i * 1_000, 16))
    const later = T0 + WINDOW_MS + 3_500
    for (let i = 0; i < 4; i++) assert.ok(log.tryAdd(later + i, 16))
    assert.equal(log.size(later + 3), 16)
    assert.equal(log.remove(later + 1, later + 3), true)
    assert.equal(log.size(later + 3), 15)
    assert.equal(log.remove(later + 1, later + 3), false, "once only")
    assert.equal(log.remove(T0 + 6_000, later + 3), true)
    assert.equal(log.size(later + 3), 14)
    // The oldest is still the fifth request, and the rest leave in order.
    assert.equal(log.msUntilFree(later + 3), T0 + 4_000 + WINDOW_MS - (later + 3))
    assert.equal(log.size(T0 + 5_000 + WINDOW_MS), 12)
    assert.equal(log.size(T0 + 7_000 + WINDOW_MS), 11)
    assert.equal(log.size(later + WINDOW_MS), 2)
    assert.equal(log.size(later + 3 + WINDOW_MS), 0)
  })
})
