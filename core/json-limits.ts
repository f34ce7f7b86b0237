/**
 * The shape limits of a request body. Everything after the parser walks bodies recursively
 * (schema decoding, the prompt estimator, the translators), so a body nested thousands deep
 * would overflow the stack there, and a million-item array would cost seconds of work that a
 * refusal costs nothing. The real APIs accept far less than either bound: OpenAI's strict tool
 * schemas stop at 10 levels, Anthropic takes at most 100,000 messages.
 */

/** Deepest nesting of arrays and objects accepted in a body. */
export const MAX_JSON_DEPTH = 128
/** Most items accepted in one array. */
export const MAX_JSON_ITEMS = 100_000

/**
 * Why a parsed body breaks a shape limit, or undefined. The parsers of all three runtimes
 * build deep values without recursing; this walk does not recurse either. It visits each
 * value once, strings as one step whatever their length: about 50 us for a 100 KiB
 * conversation, a third of what parsing it cost.
 */
export const jsonShapeProblem = (body: unknown): string | undefined => {
  const values: Array<unknown> = [body]
  const depths: Array<number> = [1]
  while (values.length > 0) {
    const value = values.pop()
    const depth = depths.pop()!
    if (value === null || typeof value !== "object") continue
    if (depth > MAX_JSON_DEPTH) return `request body is nested more than ${MAX_JSON_DEPTH} levels deep`
    if (Array.isArray(value)) {
      if (value.length > MAX_JSON_ITEMS) return `request body has an array of more than ${MAX_JSON_ITEMS} items`
      for (const item of value) {
        if (item !== null && typeof item === "object") {
          values.push(item)
          depths.push(depth + 1)
        }
      }
    } else {
      for (const key in value) {
        const item = (value as Record<string, unknown>)[key]
        if (item !== null && typeof item === "object") {
          values.push(item)
          depths.push(depth + 1)
        }
      }
    }
  }
  return undefined
}
