import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { Result, Schema } from "effect"
import { DEFAULT_MODELS } from "../../config/defaults.ts"
import { emptyUsage, fromAnthropicUsage, ModelEntry, parseUsd, type Usage } from "../../core/index.ts"
import { MAX_TOKENS } from "../../core/usage.ts"
import { costOf, percentOf, type Rates, ratesOf } from "../../plugins/billing/pricing.ts"

const usage = (fields: Partial<Usage>): Usage => ({
  ...emptyUsage,
  source: "upstream",
  ...fields
})

const rates = (fields: Partial<Rates>): Rates => ({
  input: 0n,
  cachedInput: 0n,
  cacheWrite: 0n,
  output: 0n,
  imageInput: 0n,
  imageCachedInput: 0n,
  imageOutput: 0n,
  ...fields
})

const entry = (pricing: ModelEntry["pricing"]): ModelEntry => ({ id: "m", provider: "p", pricing })

describe("ratesOf", () => {
  it("is undefined without a catalog entry or without any price", () => {
    assert.equal(ratesOf(undefined), undefined)
    assert.equal(ratesOf({ id: "m", provider: "p" }), undefined)
    assert.equal(ratesOf(entry({})), undefined)
    assert.equal(ratesOf(entry({ input: undefined, output: undefined })), undefined)
  })

  it("reads decimal strings as nano-USD per 1M tokens", () => {
    assert.deepEqual(ratesOf(entry({ input: "2.50", cachedInput: "1.25", cacheWrite: "3.75", output: "10" })), {
      input: 2_500_000_000n,
      cachedInput: 1_250_000_000n,
      cacheWrite: 3_750_000_000n,
      output: 10_000_000_000n,
      imageInput: 0n,
      imageCachedInput: 0n,
      imageOutput: 0n
    })
  })

  it("reads plain numbers exactly", () => {
    const read = ratesOf(entry({ input: 0.15, output: 0.6, imageInput: 8, imageOutput: 30 }))!
    assert.equal(read.input, 150_000_000n)
    assert.equal(read.output, 600_000_000n)
    assert.equal(read.imageInput, 8_000_000_000n)
    assert.equal(read.imageOutput, 30_000_000_000n)
  })

  it("cached input and cache writes default to the input rate, image cached input to the image input rate", () => {
    const read = ratesOf(entry({ input: "3", output: "15", imageInput: "8" }))!
    assert.equal(read.cachedInput, 3_000_000_000n)
    assert.equal(read.cacheWrite, 3_000_000_000n)
    assert.equal(read.imageCachedInput, 8_000_000_000n)
  })

  it("missing input or output prices are free, not undefined", () => {
    const outputOnly = ratesOf(entry({ output: "1" }))!
    assert.equal(outputOnly.input, 0n)
    assert.equal(outputOnly.cachedInput, 0n)
    assert.equal(ratesOf(entry({ input: "1" }))!.output, 0n)
  })

  it("a price of zero is a price: the model is free, not unpriced", () => {
    const free = ratesOf(entry({ input: "0", output: 0 }))
    assert.ok(free !== undefined)
    assert.equal(free.input, 0n)
  })

  it("every shipped model has rates matching its catalog prices", () => {
    for (const model of DEFAULT_MODELS) {
      const read = ratesOf(model)
      assert.ok(read !== undefined, model.id)
      assert.equal(read.input, parseUsd(model.pricing!.input ?? "0"), model.id)
      assert.equal(read.output, parseUsd(model.pricing!.output ?? "0"), model.id)
    }
  })

  it("never prices at zero a price the catalog schema accepts: it is read exactly or refused", () => {
    // More decimals than nano-USD can hold: the catalog refuses it at start.
    assert.ok(Result.isFailure(Schema.decodeUnknownResult(ModelEntry)(entry({ input: "2.5000000000" }))))
    // A tiny JSON number (written 5e-7 by JavaScript) passes and is read exactly.
    const pricing = { input: "2.500000000", output: 0.0000005 }
    assert.ok(Result.isSuccess(Schema.decodeUnknownResult(ModelEntry)(entry(pricing))))
    const read = ratesOf(entry(pricing))!
    assert.equal(read.input, 2_500_000_000n)
    assert.equal(read.output, 500n)
  })
})

describe("costOf", () => {
  it("charges prompt and completion tokens at their rates", () => {
    const gpt4o = ratesOf(DEFAULT_MODELS.find((m) => m.id === "gpt-4o"))!
    // 1000 x 2.50 + 500 x 10 USD per 1M = 0.0025 + 0.005 USD.
    assert.equal(costOf(usage({ promptTokens: 1_000, completionTokens: 500 }), gpt4o), 7_500_000n)
  })

  it("charges cached tokens at the cached rate only, not again at the input rate", () => {
    const r = rates({ input: 2_500_000_000n, cachedInput: 1_250_000_000n })
    // 600 uncached x 2.50 + 400 cached x 1.25 = 1500 + 500 micro-USD.
    assert.equal(costOf(usage({ promptTokens: 1_000, cachedTokens: 400 }), r), 2_000_000n)
    // All cached: half of the uncached price.
    assert.equal(costOf(usage({ promptTokens: 1_000, cachedTokens: 1_000 }), r), 1_250_000n)
  })

  it("charges cache writes at the cache-write rate", () => {
    const sonnet = ratesOf(DEFAULT_MODELS.find((m) => m.id === "claude-sonnet-4-6"))!
    // 500 uncached x 3 + 200 cached x 0.30 + 300 written x 3.75 + 100 out x 15 (USD per 1M).
    const expected = (500n * 3_000_000_000n + 200n * 300_000_000n + 300n * 3_750_000_000n + 100n * 15_000_000_000n) / 1_000_000n
    assert.equal(costOf(usage({ promptTokens: 1_000, cachedTokens: 200, cacheWriteTokens: 300, completionTokens: 100 }), sonnet), expected)
    assert.equal(expected, 4_185_000n)
  })

  it("never charges a negative uncached count when cached and written exceed the prompt", () => {
    const r = rates({ input: 1_000_000_000n, cachedInput: 100_000_000n, cacheWrite: 2_000_000_000n })
    assert.equal(costOf(usage({ promptTokens: 10, cachedTokens: 8, cacheWriteTokens: 8 }), r), (8n * 100_000_000n + 8n * 2_000_000_000n) / 1_000_000n)
  })

  it("charges image tokens at the image rates", () => {
    const image = ratesOf(DEFAULT_MODELS.find((m) => m.id === "gpt-image-2"))!
    // 100 text in x 5 + 1000 image in x 8 + 4000 image out x 30 (USD per 1M).
    assert.equal(costOf(usage({ promptTokens: 100, imageInputTokens: 1_000, imageOutputTokens: 4_000 }), image), 128_500_000n)
  })

  it("is exact for 10^12 tokens", () => {
    const gpt4o = ratesOf(DEFAULT_MODELS.find((m) => m.id === "gpt-4o"))!
    const cost = costOf(usage({ promptTokens: 1e12, completionTokens: 1e12, cachedTokens: 4e11 }), gpt4o)
    // 6e11 x 2.50 + 4e11 x 1.25 + 1e12 x 10 USD per 1M = 1.5e6 + 5e5 + 1e7 USD.
    assert.equal(cost, 12_000_000n * 1_000_000_000n)
    const odd = costOf(usage({ promptTokens: 999_999_999_999, completionTokens: 1 }), rates({ input: 150_000_001n, output: 1n }))
    assert.equal(odd, (999_999_999_999n * 150_000_001n + 1n + 500_000n) / 1_000_000n)
  })

  it("is exact at the largest safe token count", () => {
    const cost = costOf(usage({ completionTokens: Number.MAX_SAFE_INTEGER }), rates({ output: 10_000_000_000n }))
    assert.equal(cost, BigInt(Number.MAX_SAFE_INTEGER) * 10_000n)
  })

  it("rounds once, the sum, to the nearest nano-USD", () => {
    // Each part is half a nano-USD: rounding parts separately would give 2, not 1.
    assert.equal(costOf(usage({ promptTokens: 1, completionTokens: 1 }), rates({ input: 500_000n, output: 500_000n })), 1n)
    // Each part is 0.4 nano-USD: rounding parts separately would give 0, not 1.
    assert.equal(costOf(usage({ promptTokens: 1, completionTokens: 1 }), rates({ input: 400_000n, output: 400_000n })), 1n)
    assert.equal(costOf(usage({ promptTokens: 1 }), rates({ input: 1_500_000n })), 2n)
    assert.equal(costOf(usage({ promptTokens: 1 }), rates({ input: 1_499_999n })), 1n)
    assert.equal(costOf(usage({ promptTokens: 1 }), rates({ input: 499_999n })), 0n)
  })

  it("an empty usage costs nothing", () => {
    assert.equal(costOf(usage({}), rates({ input: 5n, output: 7n })), 0n)
  })
})

describe("costOf at the shipped catalog prices", () => {
  type Kind = "input" | "cached" | "cacheWrite" | "output" | "imageInput" | "imageOutput"
  const KINDS: ReadonlyArray<Kind> = ["input", "cached", "cacheWrite", "output", "imageInput", "imageOutput"]
  const ofKind = (kind: Kind, n: number): Usage => {
    switch (kind) {
      case "input": return usage({ promptTokens: n })
      case "cached": return usage({ promptTokens: n, cachedTokens: n })
      case "cacheWrite": return usage({ promptTokens: n, cacheWriteTokens: n })
      case "output": return usage({ completionTokens: n })
      case "imageInput": return usage({ imageInputTokens: n })
      case "imageOutput": return usage({ imageOutputTokens: n })
    }
  }
  const rateOf = (r: Rates, kind: Kind): bigint =>
    ({ input: r.input, cached: r.cachedInput, cacheWrite: r.cacheWrite, output: r.output, imageInput: r.imageInput, imageOutput: r.imageOutput })[kind]

  it("1,000,000 single-token requests cost exactly one 1,000,000-token request, for every model and kind", () => {
    const one = KINDS.map((kind) => [kind, ofKind(kind, 1), ofKind(kind, 1_000_000)] as const)
    for (const model of DEFAULT_MODELS) {
      const r = ratesOf(model)!
      for (const [kind, single, million] of one) {
        let sum = 0n
        for (let i = 0; i < 1_000_000; i++) sum += costOf(single, r)
        const whole = costOf(million, r)
        assert.equal(sum, whole, `${model.id} ${kind}`)
        // And a million tokens cost exactly the listed price per 1M.
        assert.equal(whole, rateOf(r, kind), `${model.id} ${kind}`)
      }
    }
  })

  it("a mixed request costs the sum of its parts", () => {
    for (const model of DEFAULT_MODELS) {
      const r = ratesOf(model)!
      const mixed = usage({ promptTokens: 7_000, cachedTokens: 2_000, cacheWriteTokens: 1_000, completionTokens: 3_000, imageInputTokens: 500, imageOutputTokens: 250 })
      const parts = costOf(ofKind("input", 4_000), r) + costOf(ofKind("cached", 2_000), r) + costOf(ofKind("cacheWrite", 1_000), r) +
        costOf(ofKind("output", 3_000), r) + costOf(ofKind("imageInput", 500), r) + costOf(ofKind("imageOutput", 250), r)
      assert.equal(costOf(mixed, r), parts, model.id)
    }
  })
})

describe("percentOf", () => {
  it("takes a percentage with up to two decimals, rounded once", () => {
    assert.equal(percentOf(1_000_000n, 2.5), 25_000n)
    assert.equal(percentOf(10_000n, 12.34), 1_234n)
    assert.equal(percentOf(123_456_789n, 100), 123_456_789n)
    assert.equal(percentOf(123_456_789n, 0), 0n)
    assert.equal(percentOf(0n, 5), 0n)
  })

  it("rounds halves away from zero", () => {
    assert.equal(percentOf(1n, 50), 1n)
    assert.equal(percentOf(3n, 50), 2n)
    assert.equal(percentOf(1n, 49.99), 0n)
    assert.equal(percentOf(-3n, 50), -2n)
  })

  it("is not thrown off by binary floating point in the percentage", () => {
    // 1.15 * 100 and 0.29 * 100 are 114.99999999999999 and 28.999999999999996.
    assert.equal(percentOf(10_000n, 1.15), 115n)
    assert.equal(percentOf(10_000n, 0.29), 29n)
  })

  it("is exact for costs beyond 2^53", () => {
    const big = 2n ** 70n
    assert.equal(percentOf(big, 5), big / 20n)
  })
})

describe("costOf on an upstream's absurd usage", () => {
  it("stays an exact integer, however large the counts reported", () => {
    const absurd = fromAnthropicUsage({ input_tokens: 1e308, cache_read_input_tokens: 1e308, cache_creation_input_tokens: 1e308, output_tokens: 1e308 })!
    const max = BigInt(MAX_TOKENS)
    // Every count at MAX_TOKENS, each at its own rate per 1M tokens.
    assert.equal(costOf(absurd, rates({ input: 1_000_000n, cachedInput: 2_000_000n, cacheWrite: 3_000_000n, output: 4_000_000n })), max * 10n)
  })
})
