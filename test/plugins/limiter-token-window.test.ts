import assert from "node:assert/strict"
import { describe, it } from "node:test"
import fc from "fast-check"
import { TokenWindow, WINDOW_MS } from "../../plugins/limiter/window.ts"

/** A whole second, so that bucket boundaries are easy to see: T0 is the start of second S0. */
const S0 = 1_700_000_000
const T0 = S0 * 1_000

describe("TokenWindow add and used", () => {
  it("add returns the second the tokens were counted in", () => {
    const window = new TokenWindow()
    assert.equal(window.add(T0, 1), S0)
    assert.equal(window.add(T0 + 999, 1), S0)
    assert.equal(window.add(T0 + 1_000, 1), S0 + 1)
  })

  it("sums the tokens of every bucket in the window", () => {
    const window = new TokenWindow()
    assert.equal(window.used(T0), 0)
    window.add(T0, 100)
    window.add(T0 + 500, 50)
    window.add(T0 + 30_000, 25)
    assert.equal(window.used(T0 + 30_000), 175)
  })

  it("a bucket counts until the start of its 60th following second", () => {
    const window = new TokenWindow()
    window.add(T0 + 999, 10)
    window.add(T0 + 1_000, 20)
    assert.equal(window.used(T0 + WINDOW_MS - 1), 30)
    // Second S0 leaves at the start of second S0 + 60, only 59 001 ms after the request.
    assert.equal(window.used(T0 + WINDOW_MS), 20)
    assert.equal(window.used(T0 + WINDOW_MS + 999), 20)
    assert.equal(window.used(T0 + WINDOW_MS + 1_000), 0)
  })

  it("a slot reused a minute later starts from zero", () => {
    const window = new TokenWindow()
    window.add(T0, 100)
    window.add(T0 + WINDOW_MS, 7)
    assert.equal(window.used(T0 + WINDOW_MS), 7)
  })

  it("forgets everything after a long idle gap", () => {
    const window = new TokenWindow()
    for (let i = 0; i < 60; i++) window.add(T0 + i * 1_000, 10)
    assert.equal(window.used(T0 + 59_000), 600)
    assert.equal(window.used(T0 + 10 * WINDOW_MS), 0)
    window.add(T0 + 10 * WINDOW_MS, 3)
    assert.equal(window.used(T0 + 10 * WINDOW_MS), 3)
  })
})

describe("TokenWindow adjust", () => {
  it("corrects a reservation upwards", () => {
    const window = new TokenWindow()
    const second = window.add(T0, 100)
    window.adjust(second, 40, T0 + 2_000)
    assert.equal(window.used(T0 + 2_000), 140)
  })

  it("corrects a reservation downwards in its own bucket only", () => {
    const window = new TokenWindow()
    const first = window.add(T0, 100)
    window.add(T0 + 10_000, 50)
    window.adjust(first, -70, T0 + 20_000)
    assert.equal(window.used(T0 + 20_000), 80)
    // The corrected tokens still leave with their own second, not later.
    assert.equal(window.used(T0 + WINDOW_MS), 50)
  })

  it("never takes a bucket below zero", () => {
    const window = new TokenWindow()
    const first = window.add(T0, 100)
    window.add(T0 + 1_000, 50)
    window.adjust(first, -1_000, T0 + 1_000)
    assert.equal(window.used(T0 + 1_000), 50)
    // A later upward correction starts from the clamped zero, not from -900.
    window.adjust(first, 30, T0 + 1_000)
    assert.equal(window.used(T0 + 1_000), 80)
  })

  it("ignores a correction once the bucket has left the window", () => {
    const window = new TokenWindow()
    const first = window.add(T0, 100)
    window.add(T0 + 30_000, 10)
    window.adjust(first, 500, T0 + WINDOW_MS)
    assert.equal(window.used(T0 + WINDOW_MS), 10)
    window.adjust(first, -5, T0 + WINDOW_MS)
    assert.equal(window.used(T0 + WINDOW_MS), 10)
  })

  it("ignores a correction whose slot now belongs to a later second", () => {
    const window = new TokenWindow()
    const first = window.add(T0, 100)
    window.add(T0 + WINDOW_MS, 30)
    window.adjust(first, -100, T0 + WINDOW_MS)
    assert.equal(window.used(T0 + WINDOW_MS), 30)
  })

  it("a correction of zero changes nothing", () => {
    const window = new TokenWindow()
    const second = window.add(T0, 64)
    window.adjust(second, 0, T0 + 100)
    assert.equal(window.used(T0 + 100), 64)
  })
})

describe("TokenWindow msUntilRoom", () => {
  it("is 0 when the tokens fit, up to the limit exactly", () => {
    const window = new TokenWindow()
    assert.equal(window.msUntilRoom(T0, 1_000, 1_000), 0)
    window.add(T0, 600)
    assert.equal(window.msUntilRoom(T0, 400, 1_000), 0)
    assert.equal(window.msUntilRoom(T0, 0, 1_000), 0)
  })

  it("waits until the oldest bucket leaves when that frees enough", () => {
    const window = new TokenWindow()
    window.add(T0 + 250, 600)
    window.add(T0 + 10_000, 300)
    assert.equal(window.msUntilRoom(T0 + 20_000, 200, 1_000), T0 + WINDOW_MS - (T0 + 20_000))
    assert.equal(window.msUntilRoom(T0 + 20_400, 200, 1_000), 39_600)
  })

  it("waits for as many buckets as the excess needs", () => {
    const window = new TokenWindow()
    window.add(T0, 100)
    window.add(T0 + 5_000, 100)
    window.add(T0 + 9_500, 100)
    // 300 used, limit 300, 150 needed: the first two buckets must leave.
    assert.equal(window.msUntilRoom(T0 + 12_000, 150, 300), 5_000 + WINDOW_MS - 12_000)
    // 250 needed: all three.
    assert.equal(window.msUntilRoom(T0 + 12_000, 250, 300), 9_000 + WINDOW_MS - 12_000)
  })

  it("is a whole window when the request could never fit", () => {
    const window = new TokenWindow()
    assert.equal(window.msUntilRoom(T0, 1_001, 1_000), WINDOW_MS)
    window.add(T0, 10)
    assert.equal(window.msUntilRoom(T0, 5_000, 1_000), WINDOW_MS)
  })

  it("reflects a downward correction immediately", () => {
    const window = new TokenWindow()
    const second = window.add(T0, 900)
    assert.ok(window.msUntilRoom(T0 + 1_000, 200, 1_000) > 0)
    window.adjust(second, -800, T0 + 1_000)
    assert.equal(window.msUntilRoom(T0 + 1_000, 200, 1_000), 0)
  })
})

describe("TokenWindow properties", () => {
  const operations = fc.array(
    fc.tuple(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 500 }), fc.integer({ min: -600, max: 600 }), fc.nat(30)),
    { minLength: 1, maxLength: 80 }
  )

  it("used() equals a reference sum of the live buckets, with adjustments clamped at zero", () => {
    fc.assert(
      fc.property(operations, (ops) => {
        const window = new TokenWindow()
        const reference = new Map<number, number>()
        const seconds: Array<number> = []
        let now = T0
        for (const [gap, tokens, delta, pick] of ops) {
          now += gap
          const current = Math.floor(now / 1_000)
          for (const s of [...reference.keys()]) if (s <= current - 60) reference.delete(s)
          const second = window.add(now, tokens)
          assert.equal(second, current)
          reference.set(second, (reference.get(second) ?? 0) + tokens)
          seconds.push(second)
          const target = seconds[pick % seconds.length]!
          window.adjust(target, delta, now)
          if (reference.has(target)) reference.set(target, Math.max(0, reference.get(target)! + delta))
          const expected = [...reference.values()].reduce((a, b) => a + b, 0)
          assert.equal(window.used(now), expected)
        }
      }),
      { numRuns: 300 }
    )
  })

  it("after msUntilRoom the tokens fit, and a millisecond earlier they do not", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4_000 }), fc.integer({ min: 1, max: 400 })), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 1_500 }),
        fc.integer({ min: 1_000, max: 3_000 }),
        (adds, needed, limit) => {
          const window = new TokenWindow()
          let now = T0
          for (const [gap, tokens] of adds) window.add((now += gap), tokens)
          const wait = window.msUntilRoom(now, needed, limit)
          assert.ok(wait >= 0 && wait <= WINDOW_MS)
          if (needed > limit) return
          // Asked in time order: the window only moves forwards.
          if (wait > 0) assert.ok(window.used(now + wait - 1) + needed > limit, "the wait is not longer than needed")
          assert.ok(window.used(now + wait) + needed <= limit, "fits after the wait")
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe("TokenWindow with a clock stepping backwards", () => {
  it("does not keep tokens forever when the clock steps back a minute", () => {
    const window = new TokenWindow()
    window.add(T0 + WINDOW_MS, 100)
    // The wall clock is corrected one minute back (Date.now() is not monotonic).
    window.add(T0, 5)
    // Long after both, nothing can still be in the window.
    assert.equal(window.used(T0 + 10 * WINDOW_MS), 0)
  })
})
