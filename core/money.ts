/**
 * Money is integer nano-USD (1e-9 USD) in bigint: exact sums, never binary floating point.
 * It travels as decimal strings in USD ("12.345678900").
 */
export const NANO_PER_USD = 1_000_000_000n

/**
 * The most an amount or a balance may be, either way: 1e9 USD, 1e18 nano-USD. SQLite keeps an
 * INTEGER in signed 64 bits (up to about 9.2e18): a driver refuses to bind a bigint beyond
 * that (bun:sqlite wraps it around instead), and a sum that overflows becomes an inexact REAL.
 * The sum of two values within this bound stays far inside 64 bits, so neither a stored amount
 * nor a balance's running sum can overflow; and it is far beyond any real prepaid balance.
 */
export const MONEY_LIMIT_NANO = 1_000_000_000n * NANO_PER_USD

export const withinMoneyLimit = (nano: bigint): boolean => nano >= -MONEY_LIMIT_NANO && nano <= MONEY_LIMIT_NANO

/** What an admin is told of a refused amount, after the field's name. */
export const USD_AMOUNT_RULE =
  `expected a USD amount with at most 9 decimals, such as "5.00"; amounts and the balances they leave stay within +/-${MONEY_LIMIT_NANO / NANO_PER_USD} USD`

const DECIMAL = /^(-)?(\d+)(?:\.(\d{1,9}))?$/

/** A JSON number as plain decimal text: JavaScript writes 1e-7 in exponent notation. */
const numberText = (value: number): string | undefined => {
  if (!Number.isFinite(value)) return undefined
  const text = String(value)
  if (!/e/i.test(text)) return text
  // toFixed(20) expands a small number exactly enough; trailing zeros are not precision.
  return Math.abs(value) < 1 ? value.toFixed(20).replace(/0+$/, "") : undefined
}

/**
 * Parses a USD amount (a decimal string, or a JSON number) to nano-USD; undefined if malformed
 * or beyond MONEY_LIMIT_NANO.
 */
export const parseUsd = (value: unknown): bigint | undefined => {
  const text = typeof value === "number" ? numberText(value) : value
  if (typeof text !== "string") return undefined
  const match = DECIMAL.exec(text.trim())
  if (match === null) return undefined
  const nano = BigInt(match[2]!) * NANO_PER_USD + BigInt((match[3] ?? "").padEnd(9, "0"))
  if (!withinMoneyLimit(nano)) return undefined
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
