import assert from "node:assert/strict"
import { describe, it } from "node:test"
import fc from "fast-check"
import { divRound, formatUsd, MONEY_LIMIT_NANO, NANO_PER_USD, parseUsd } from "../../core/money.ts"

describe("parseUsd", () => {
  it("parses decimal strings to nano-USD", () => {
    assert.equal(parseUsd("0"), 0n)
    assert.equal(parseUsd("1"), 1_000_000_000n)
    assert.equal(parseUsd("2.50"), 2_500_000_000n)
    assert.equal(parseUsd("0.15"), 150_000_000n)
    assert.equal(parseUsd("12.345678900"), 12_345_678_900n)
    assert.equal(parseUsd("0.000000001"), 1n)
    assert.equal(parseUsd("007.5"), 7_500_000_000n)
  })

  it("parses up to nine decimals and rejects a tenth", () => {
    assert.equal(parseUsd("1.123456789"), 1_123_456_789n)
    assert.equal(parseUsd("1.1234567891"), undefined)
    assert.equal(parseUsd("0.0000000001"), undefined)
  })

  it("parses negative amounts", () => {
    assert.equal(parseUsd("-5"), -5_000_000_000n)
    assert.equal(parseUsd("-0.000000001"), -1n)
    assert.equal(parseUsd(-2.25), -2_250_000_000n)
    assert.equal(parseUsd("-0"), 0n)
  })

  it("parses JSON numbers exactly, not through binary floating point", () => {
    assert.equal(parseUsd(0.1), 100_000_000n)
    assert.equal(parseUsd(5), 5_000_000_000n)
    assert.equal(parseUsd(0.3), 300_000_000n)
    assert.equal(parseUsd(1.15), 1_150_000_000n)
    assert.equal(parseUsd(123456.789), 123_456_789_000_000n)
    assert.equal(parseUsd(0.000001), 1_000n)
    assert.equal(parseUsd(0), 0n)
  })

  it("parses large decimal strings beyond 2^53 nano-USD exactly", () => {
    assert.equal(parseUsd("987654321.543210987"), 987_654_321_543_210_987n)
  })

  it("parses amounts up to the money limit either way, and refuses any beyond it", () => {
    assert.equal(MONEY_LIMIT_NANO, 10n ** 18n)
    assert.equal(parseUsd("1000000000"), MONEY_LIMIT_NANO)
    assert.equal(parseUsd("-1000000000.000000000"), -MONEY_LIMIT_NANO)
    assert.equal(parseUsd(1e9), MONEY_LIMIT_NANO)
    for (const beyond of ["1000000000.000000001", "-1000000000.000000001", "9000000000", "100000000000", "99999999999", "9223372036.854775808", 1e10]) {
      assert.equal(parseUsd(beyond), undefined, String(beyond))
    }
  })

  it("trims surrounding whitespace", () => {
    assert.equal(parseUsd(" 3.5 "), 3_500_000_000n)
  })

  it("rejects malformed input", () => {
    for (const bad of ["", " ", "abc", "1e3", "1E3", "1,5", "1.", ".5", "+1", "--1", "1.2.3", "0x10", "Infinity", "NaN", "1 000"]) {
      assert.equal(parseUsd(bad), undefined, JSON.stringify(bad))
    }
  })

  it("rejects values that are neither strings nor finite numbers", () => {
    for (const bad of [Number.NaN, Infinity, -Infinity, null, undefined, true, {}, [], 5n]) {
      assert.equal(parseUsd(bad), undefined, String(bad))
    }
  })

  it("rejects a number with more than nine decimals", () => {
    // 0.1 + 0.2 is 0.30000000000000004 in binary floating point.
    assert.equal(parseUsd(0.1 + 0.2), undefined)
  })

  it("parses small JSON numbers that JavaScript prints in exponent notation", () => {
    // 0.0000001 has seven decimals, but String(0.0000001) is "1e-7".
    assert.equal(parseUsd(0.0000001), 100n)
    assert.equal(parseUsd(0.000000001), 1n)
    assert.equal(parseUsd(0.00000025), 250n)
  })
})

describe("formatUsd", () => {
  it("writes nine decimals", () => {
    assert.equal(formatUsd(0n), "0.000000000")
    assert.equal(formatUsd(1n), "0.000000001")
    assert.equal(formatUsd(12_345_678_900n), "12.345678900")
    assert.equal(formatUsd(NANO_PER_USD), "1.000000000")
  })

  it("writes negative amounts with one leading minus", () => {
    assert.equal(formatUsd(-1n), "-0.000000001")
    assert.equal(formatUsd(-2_500_000_000n), "-2.500000000")
    assert.equal(formatUsd(-999_999_999n), "-0.999999999")
  })

  it("is exact beyond 2^53 nano-USD", () => {
    const big = 2n ** 53n + 1n
    assert.equal(formatUsd(big), "9007199.254740993")
    assert.equal(formatUsd(123_456_789_012_345_678_901_234n), "123456789012345.678901234")
    assert.equal(formatUsd(-(2n ** 64n)), "-18446744073.709551616")
  })

  it("round-trips with parseUsd for any amount within the money limit", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -MONEY_LIMIT_NANO, max: MONEY_LIMIT_NANO }), (nano) => {
        assert.equal(parseUsd(formatUsd(nano)), nano)
      })
    )
  })
})

describe("divRound", () => {
  it("rounds to the nearest integer, halves away from zero", () => {
    assert.equal(divRound(10n, 4n), 3n) // 2.5
    assert.equal(divRound(14n, 4n), 4n) // 3.5
    assert.equal(divRound(9n, 4n), 2n) // 2.25
    assert.equal(divRound(11n, 4n), 3n) // 2.75
    assert.equal(divRound(1n, 2n), 1n) // 0.5
    assert.equal(divRound(1n, 3n), 0n)
    assert.equal(divRound(2n, 3n), 1n)
    assert.equal(divRound(0n, 7n), 0n)
    assert.equal(divRound(12n, 4n), 3n)
  })

  it("rounds negatives symmetrically", () => {
    assert.equal(divRound(-10n, 4n), -3n)
    assert.equal(divRound(10n, -4n), -3n)
    assert.equal(divRound(-10n, -4n), 3n)
    assert.equal(divRound(-9n, 4n), -2n)
    assert.equal(divRound(-1n, 2n), -1n)
    assert.equal(divRound(-1n, 3n), 0n)
  })

  it("agrees with exact rational rounding for any operands", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.bigInt({ min: 1n, max: 10n ** 15n }), fc.boolean(), (n, d0, flip) => {
        const d = flip ? -d0 : d0
        const q = divRound(n, d)
        // |n/d - q| <= 1/2, i.e. |n - q d| * 2 <= |d|.
        const rest = n - q * d
        const twice = 2n * (rest < 0n ? -rest : rest)
        const absD = d < 0n ? -d : d
        assert.ok(twice <= absD)
        // On an exact half the result is the one further from zero: |q| > |n/d|.
        if (twice === absD) assert.ok((q < 0n ? -q : q) * absD > (n < 0n ? -n : n))
        // Symmetry: negating the numerator negates the result.
        assert.equal(divRound(-n, d), -q)
      })
    )
  })

  it("an exact half always moves away from zero", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.bigInt({ min: 1n, max: 10n ** 9n }), (k, half) => {
        const d = 2n * half
        const n = k * d + half // exactly k + 1/2
        const expected = n >= 0n ? k + 1n : k
        assert.equal(divRound(n, d), expected)
      })
    )
  })

  it("throws on a zero denominator", () => {
    assert.throws(() => divRound(1n, 0n), RangeError)
  })
})
