import { Schema } from "effect"
import { parseUsd } from "./money.ts"

const isPrice = (value: string | number) => {
  const nano = parseUsd(value)
  return nano !== undefined && nano >= 0n
}

/**
 * A price in USD per 1M tokens: a decimal string ("0.15") or a plain number (0.15), never
 * negative, with at most nine decimals (the relay counts money in nano-USD).
 */
const Price = Schema.Union([Schema.String, Schema.Number]).check(
  Schema.makeFilter(isPrice, { expected: "a price such as \"2.50\": not negative, at most 9 decimals" })
)

export const ModelPricing = Schema.Struct({
  input: Schema.optional(Price),
  cachedInput: Schema.optional(Price),
  cacheWrite: Schema.optional(Price),
  output: Schema.optional(Price),
  imageInput: Schema.optional(Price),
  imageCachedInput: Schema.optional(Price),
  imageOutput: Schema.optional(Price)
})

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

export const ModelEntry = Schema.Struct({
  id: Schema.NonEmptyString,
  provider: Schema.NonEmptyString,
  /** The provider's own name for the model when it differs: `id` is then an alias. */
  upstream: Schema.optional(Schema.NonEmptyString),
  kind: Schema.optional(Schema.Literals(["chat", "embedding", "image"])),
  contextWindow: Schema.optional(PositiveInt),
  maxOutputTokens: Schema.optional(PositiveInt),
  pricing: Schema.optional(ModelPricing),
  /**
   * The model reasons (takes `reasoning_effort`, or Claude's thinking): translated reasoning
   * controls reach it. Unset, the model's name decides (o-series and gpt-5 do, gpt-4o does not).
   */
  reasoning: Schema.optional(Schema.Boolean),
  /** Seconds since the epoch, shown as `created` in the model list. */
  created: Schema.optional(Schema.Int)
})

export type ModelEntry = Schema.Schema.Type<typeof ModelEntry>

export interface ResolvedModel {
  /** The name the client asked for, echoed back to it. */
  readonly id: string
  readonly provider: string
  /** The name sent upstream. */
  readonly upstreamModel: string
  /** Present when the model is catalogued (prices, caps). */
  readonly entry: ModelEntry | undefined
}

export interface ProviderPatterns {
  readonly name: string
  /** Globs such as `gpt-*`; `*` matches any run of characters. */
  readonly patterns: ReadonlyArray<string>
}

/** A name glob (`*` matches any run of characters) as a whole-name pattern. */
export const globToRegExp = (glob: string): RegExp =>
  new RegExp(`^${glob.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`)

/**
 * Which provider serves a model: the catalog entry when there is one, else the first provider
 * (in config order) whose name patterns match.
 */
export class Catalog {
  private readonly byId: ReadonlyMap<string, ModelEntry>
  private readonly patterns: ReadonlyArray<{ readonly provider: string; readonly pattern: RegExp }>

  constructor(readonly models: ReadonlyArray<ModelEntry>, providers: ReadonlyArray<ProviderPatterns>) {
    this.byId = new Map(models.map((model) => [model.id, model]))
    this.patterns = providers.flatMap((provider) =>
      provider.patterns.map((glob) => ({ provider: provider.name, pattern: globToRegExp(glob) }))
    )
  }

  entry(id: string): ModelEntry | undefined {
    return this.byId.get(id)
  }

  resolve(id: string): ResolvedModel | undefined {
    const entry = this.byId.get(id)
    if (entry) return { id, provider: entry.provider, upstreamModel: entry.upstream ?? id, entry }
    for (const { provider, pattern } of this.patterns) {
      if (pattern.test(id)) return { id, provider, upstreamModel: id, entry: undefined }
    }
    return undefined
  }
}
