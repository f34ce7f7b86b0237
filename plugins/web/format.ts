/**
 * A USD decimal string ("12.345678900", "0.6", "-1.5") as people read money: a dollar sign, at
 * least two decimals, trailing zeros past them dropped, never rounded.
 */
export const displayUsd = (decimal: string): string => {
  const negative = decimal.startsWith("-")
  const [whole, fraction = ""] = (negative ? decimal.slice(1) : decimal).split(".")
  return `${negative ? "-" : ""}$${whole}.${fraction.replace(/0+$/, "").padEnd(2, "0")}`
}
