/**
 * Money is integer nano-USD (1e-9 USD) in bigint: exact sums, never binary floating point.
 * It travels as decimal strings in USD ("12.345678900").
 */
export const NANO_PER_USD = 1_000_000_000n

const DECIMAL = /^(-)?(\d+)(?:\.(\d{1,9}))?$/

/** A JSON number as plain decimal text: JavaScript writes 1e-7 in exponent notation. */
const numberText = (value: number): string | undefined => {
  if (!Number.isFinite(value)) return undefined
  const text = String(value)
  if (!/e/i.test(text)) return text
  // toFixed(20) expands a small number exactly enough; trailing zeros are not precision.
  return Math.abs(value) < 1 ? value.toFixed(20).replace(/0+$/, "") : undefined
}

/** Parses a USD amount (a decimal string, or a JSON number) to nano-USD; undefined if malformed. */
export const parseUsd = (value: unknown): bigint | undefined => {
  const text = typeof value === "number" ? numberText(value) : value
  if (typeof text !== "string") return undefined
  const match = DECIMAL.exec(text.trim())
  if (match === null) return undefined
  const nano = BigInt(match[2]!) * NANO_PER_USD + BigInt((match[3] ?? "").padEnd(9, "0"))
  return match[1] ? -nano : nano
}

/** nano-USD as a decimal string with nine places: 12345678900n -> "12.345678900". */
export const formatUsd = (nano: bigint): string => {
  const negative = nano < 0n
  const abs = negative ? -nano : nano
  return `${negative ? "-" : ""}${abs / NANO_PER_USD}.${(abs % NANO_PER_USD).toString().padStart(9, "0")}`
}

/** `numerator / denominator` rounded half away from zero: the one rounding a cost gets. */
export const divRound = (numerator: bigint, denominator: bigint): bigint => {
  const negative = numerator < 0n !== denominator < 0n
  const n = numerator < 0n ? -numerator : numerator
  const d = denominator < 0n ? -denominator : denominator
  const q = (n + d / 2n) / d
  return negative ? -q : q
}
