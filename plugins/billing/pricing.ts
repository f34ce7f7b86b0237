import { divRound, type ModelEntry, parseUsd, type Usage } from "../../core/index.ts"

/** Prices in nano-USD per 1M tokens: integers, so a cost is one exact sum and one rounding. */
export interface Rates {
  readonly input: bigint
  readonly cachedInput: bigint
  readonly cacheWrite: bigint
  readonly output: bigint
  readonly imageInput: bigint
  readonly imageCachedInput: bigint
  readonly imageOutput: bigint
}

const MILLION = 1_000_000n

/**
 * A catalog entry's rates, or undefined when it has no price at all (such a model is not sold
 * from the shared pool). Cached input defaults to the input rate, cache writes too (SPEC 7).
 */
export const ratesOf = (entry: ModelEntry | undefined): Rates | undefined => {
  const pricing = entry?.pricing
  if (pricing === undefined || Object.values(pricing).every((price) => price === undefined)) return undefined
  const rate = (price: string | number | undefined) => (price === undefined ? undefined : parseUsd(price))
  const input = rate(pricing.input) ?? 0n
  const imageInput = rate(pricing.imageInput) ?? 0n
  return {
    input,
    cachedInput: rate(pricing.cachedInput) ?? input,
    cacheWrite: rate(pricing.cacheWrite) ?? input,
    output: rate(pricing.output) ?? 0n,
    imageInput,
    imageCachedInput: rate(pricing.imageCachedInput) ?? imageInput,
    imageOutput: rate(pricing.imageOutput) ?? 0n
  }
}

/**
 * The cost of `usage` in nano-USD, rounded once. Prompt tokens include cached reads and cache
 * writes, each charged at its own rate only; the rest of the prompt at the input rate. Image
 * input likewise: its cached part at the cached image rate, the rest at the image input rate.
 */
export const costOf = (usage: Usage, rates: Rates): bigint => {
  const cached = BigInt(usage.cachedTokens)
  const written = BigInt(usage.cacheWriteTokens)
  const uncached = BigInt(Math.max(0, usage.promptTokens - usage.cachedTokens - usage.cacheWriteTokens))
  const sum = uncached * rates.input +
    cached * rates.cachedInput +
    written * rates.cacheWrite +
    BigInt(usage.completionTokens) * rates.output +
    BigInt(Math.max(0, usage.imageInputTokens - (usage.imageCachedTokens ?? 0))) * rates.imageInput +
    BigInt(usage.imageCachedTokens ?? 0) * rates.imageCachedInput +
    BigInt(usage.imageOutputTokens) * rates.imageOutput
  return divRound(sum, MILLION)
}

/** `cost` times a percentage given with up to two decimals (a BYOK fee), rounded once. */
export const percentOf = (cost: bigint, percent: number): bigint => divRound(cost * BigInt(Math.round(percent * 100)), 10_000n)
