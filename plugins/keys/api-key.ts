import { bearerToken, randomBase62 } from "../../core/index.ts"

export const KEY_PREFIX = "sk-rr-"

/** 40 base62 characters: about 238 bits, far past guessing. */
const RANDOM_LENGTH = 40

/** Characters of a key kept in the clear to tell keys apart in lists. */
const VISIBLE_LENGTH = KEY_PREFIX.length + 6

const KEY_SHAPE = /^sk-rr-[0-9A-Za-z]{32,}$/

export const generateKey = (): { readonly key: string; readonly prefix: string } => {
  const key = `${KEY_PREFIX}${randomBase62(RANDOM_LENGTH)}`
  return { key, prefix: key.slice(0, VISIBLE_LENGTH) }
}

export const isRelayKeyShape = (value: string): boolean => KEY_SHAPE.test(value)

/** The relay key a request carries: `Authorization: Bearer` (OpenAI clients) or `x-api-key` (Anthropic clients). */
export const keyFromHeaders = (headers: Headers): string | undefined => {
  const bearer = bearerToken(headers.get("authorization"))
  if (bearer !== undefined) return bearer
  const apiKey = headers.get("x-api-key")
  return apiKey === null || apiKey === "" ? undefined : apiKey.trim()
}
