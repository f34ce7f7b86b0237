import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { KeyPool } from "../../core/key-pool.ts"

const clock = (start = 1_000_000) => {
  let now = start
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

const secretsOf = (pool: KeyPool) => pool.candidates().map((key) => key.secret)

describe("KeyPool", () => {
  it("reports its size and secrets", () => {
    const pool = new KeyPool(["a", "b", "c"])
    assert.equal(pool.size, 3)
    assert.deepEqual(pool.secrets, ["a", "b", "c"])
  })

  it("rotates the starting key round-robin and returns every key", () => {
    const pool = new KeyPool(["a", "b", "c"], clock().now)
    assert.deepEqual(secretsOf(pool), ["a", "b", "c"])
    assert.deepEqual(secretsOf(pool), ["b", "c", "a"])
    assert.deepEqual(secretsOf(pool), ["c", "a", "b"])
    assert.deepEqual(secretsOf(pool), ["a", "b", "c"])
  })

  it("names each candidate by its slot", () => {
    const pool = new KeyPool(["a", "b", "c"], clock().now)
    pool.candidates()
    assert.deepEqual(pool.candidates(), [
      { secret: "b", slot: 1 },
      { secret: "c", slot: 2 },
      { secret: "a", slot: 0 }
    ])
  })

  it("an empty pool has no candidates", () => {
    const pool = new KeyPool([], clock().now)
    assert.deepEqual(pool.candidates(), [])
    assert.deepEqual(pool.candidates(), [])
    assert.equal(pool.retryAfterSeconds(), undefined)
  })

  it("leaves out rate-limited and rejected keys until their rest is over", () => {
    const time = clock()
    const pool = new KeyPool(["a", "b", "c"], time.now)
    pool.cool(0, "rate_limited", 10_000)
    pool.cool(2, "rejected", 60_000)
    assert.deepEqual(secretsOf(pool), ["b"])
    time.advance(10_000)
    assert.deepEqual(secretsOf(pool), ["b", "a"])
    time.advance(50_000)
    assert.deepEqual(secretsOf(pool), ["c", "a", "b"])
  })

  it("tries failing keys last, soonest recovery first", () => {
    const time = clock()
    const pool = new KeyPool(["a", "b", "c", "d"], time.now)
    pool.cool(0, "failing", 5_000)
    pool.cool(1, "failing", 2_000)
    pool.cool(3, "rate_limited", 1_000)
    assert.deepEqual(secretsOf(pool), ["c", "b", "a"])
    time.advance(2_000)
    // b has recovered; it is ready again, in round-robin order.
    assert.deepEqual(secretsOf(pool), ["b", "c", "d", "a"])
  })

  it("still offers failing keys when every key is failing", () => {
    const pool = new KeyPool(["a", "b"], clock().now)
    pool.cool(0, "failing", 3_000)
    pool.cool(1, "failing", 1_000)
    assert.deepEqual(secretsOf(pool), ["b", "a"])
  })

  it("a key whose rest ends exactly now is ready", () => {
    const time = clock()
    const pool = new KeyPool(["a"], time.now)
    pool.cool(0, "rejected", 1_000)
    assert.deepEqual(secretsOf(pool), [])
    time.advance(1_000)
    assert.deepEqual(secretsOf(pool), ["a"])
  })

  it("a new cooldown replaces the reason of the previous one", () => {
    const pool = new KeyPool(["a", "b"], clock().now)
    pool.cool(0, "failing", 5_000)
    pool.cool(0, "rejected", 5_000)
    assert.deepEqual(secretsOf(pool), ["b"])
  })

  it("ignores a cooldown for an unknown slot", () => {
    const pool = new KeyPool(["a"], clock().now)
    pool.cool(5, "rejected", 5_000)
    pool.cool(-1, "rejected", 5_000)
    assert.deepEqual(secretsOf(pool), ["a"])
  })

  it("retryAfterSeconds gives the soonest recovery of any resting key, rounded up", () => {
    const time = clock()
    const pool = new KeyPool(["a", "b", "c"], time.now)
    assert.equal(pool.retryAfterSeconds(), undefined)
    pool.cool(0, "rejected", 30_000)
    pool.cool(1, "rate_limited", 12_001)
    pool.cool(2, "failing", 1_000)
    assert.equal(pool.retryAfterSeconds(), 1)
    time.advance(1_000)
    assert.equal(pool.retryAfterSeconds(), 12)
    time.advance(11_001)
    assert.equal(pool.retryAfterSeconds(), 18)
    time.advance(17_998)
    assert.equal(pool.retryAfterSeconds(), 1, "never below 1 while a key rests")
    time.advance(1)
    assert.equal(pool.retryAfterSeconds(), undefined)
  })

  it("rests tells whether a key rests now for a reason", () => {
    const time = clock()
    const pool = new KeyPool(["a", "b"], time.now)
    pool.cool(0, "rejected", 60_000)
    pool.cool(1, "rate_limited", 5_000)
    assert.equal(pool.rests("rejected"), true)
    assert.equal(pool.rests("rate_limited"), true)
    assert.equal(pool.rests("failing"), false)
    time.advance(5_000)
    assert.equal(pool.rests("rate_limited"), false)
    assert.equal(pool.rests("rejected"), true)
  })
})
