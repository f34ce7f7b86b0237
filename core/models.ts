import type { Catalog, ModelEntry } from "./catalog.ts"
import { parseUsd } from "./money.ts"

const PRICE_FIELDS = [
  ["input", "input"],
  ["cachedInput", "cached_input"],
  ["cacheWrite", "cache_write"],
  ["output", "output"],
  ["imageInput", "image_input"],
  ["imageCachedInput", "image_cached_input"],
  ["imageOutput", "image_output"]
] as const

/** A configured price as the catalog shows it: a plain decimal string ("0.15", "3", "0.075"). */
const priceText = (value: string | number): string => {
  const nano = parseUsd(value) ?? 0n
  const whole = nano / 1_000_000_000n
  const fraction = (nano % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "")
  return fraction === "" ? `${whole}` : `${whole}.${fraction}`
}

/**
 * One catalog entry in OpenAI's model-object shape, with the relay's own fields (SPEC 7), and
 * the fields of Anthropic's (`type`, `display_name`, `created_at`): both SDKs read the same
 * answer, each ignoring the other's fields.
 */
export const modelObject = (entry: ModelEntry, startedAt: number) => {
  const pricing: Record<string, string> = {}
  for (const [field, key] of PRICE_FIELDS) {
    const value = entry.pricing?.[field]
    if (value !== undefined) pricing[key] = priceText(value)
  }
  const created = entry.created ?? Math.floor(startedAt / 1000)
  return {
    id: entry.id,
    object: "model" as const,
    type: "model" as const,
    display_name: entry.id,
    created,
    created_at: new Date(created * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    owned_by: entry.provider,
    kind: entry.kind ?? "chat",
    context_window: entry.contextWindow ?? null,
    max_output_tokens: entry.maxOutputTokens ?? null,
    pricing
  }
}

/**
 * The model list: every catalogued model whose provider is configured, as one page that is
 * both OpenAI's list and Anthropic's (whose SDK pages on `has_more` and `last_id`).
 */
export const modelList = (catalog: Catalog, served: (entry: ModelEntry) => boolean, startedAt: number) => {
  const data = catalog.models.filter(served).map((entry) => modelObject(entry, startedAt))
  return { object: "list" as const, data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null }
}
