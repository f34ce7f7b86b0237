/**
 * Shapes of provider keys (OpenAI `sk-...`, including the masked `sk-ab***yz` form its errors
 * echo, Anthropic `sk-ant-...`, Google `AIza...`) and relay keys.
 */
const KEY_SHAPES = /\b(?:sk-[A-Za-z0-9_*\-]{4,}|AIza[A-Za-z0-9_\-]{20,})/g

/**
 * Removes secrets from text that came from outside (an upstream error message) before a caller
 * or a log sees it: the exact secrets the relay used, and anything shaped like a key.
 */
export const redact = (text: string, secrets: ReadonlyArray<string> = []): string => {
  let out = text
  for (const secret of secrets) {
    if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join("[redacted]")
  }
  return out.replace(KEY_SHAPES, "[redacted]")
}
