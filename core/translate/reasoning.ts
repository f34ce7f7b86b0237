/**
 * Reasoning controls across the two protocols: Anthropic's `thinking` and `output_config.effort`
 * against OpenAI's `reasoning_effort` (PROTOCOLS.md 3.1). A model without reasoning refuses the
 * controls (OpenAI answers 400 `unsupported_parameter`), so they reach only a model that
 * reasons: the catalog's `reasoning` flag says so, else the model's name.
 */
import type { ModelEntry } from "../catalog.ts"

/** OpenAI's reasoning families (o1, o3, o4-mini, gpt-5...), less gpt-5's chat variants, which do not reason. */
const OPENAI_REASONING = /^(o\d|gpt-[5-9])(?!.*-chat)/
/** Claude models before 3.7 have no extended thinking. */
const CLAUDE_WITHOUT_THINKING = /^claude-(instant|2|3-(haiku|sonnet|opus)|3-5)/
/**
 * Claude models that think adaptively and take `output_config.effort` (Sonnet and Opus 4.6 and
 * later); earlier ones think only within a `budget_tokens`.
 */
const CLAUDE_ADAPTIVE = /^claude-((opus|sonnet)-4-([6-9]|\d\d)|(opus|sonnet|haiku)-([5-9]|\d\d))/

export const reasons = (upstreamModel: string, entry: ModelEntry | undefined): boolean =>
  entry?.reasoning ?? (upstreamModel.startsWith("claude-") ? !CLAUDE_WITHOUT_THINKING.test(upstreamModel) : OPENAI_REASONING.test(upstreamModel))

export const claudeThinksAdaptively = (upstreamModel: string): boolean => CLAUDE_ADAPTIVE.test(upstreamModel)

/** A thinking budget's OpenAI effort: the budgets of `BUDGET_OF_EFFORT` fall on their own names. */
const effortOfBudget = (budget: number): string => (budget < 4_096 ? "low" : budget < 16_384 ? "medium" : "high")

/** Anthropic's efforts as OpenAI's: `max` has no OpenAI word and becomes the highest OpenAI has. */
const OPENAI_EFFORT: Record<string, string> = { low: "low", medium: "medium", high: "high", xhigh: "xhigh", max: "xhigh" }

interface AnthropicReasoning {
  readonly thinking?: { readonly type?: unknown; readonly budget_tokens?: unknown } | undefined
  readonly output_config?: { readonly effort?: unknown } | undefined
}

/**
 * The `reasoning_effort` for an Anthropic request's thinking: its effort when it names one, else
 * its thinking budget's. Adaptive thinking without an effort, or thinking disabled, leaves the
 * model's own default.
 */
export const openAIEffortOf = (body: AnthropicReasoning): string | undefined => {
  const thinking = body.thinking
  if (thinking?.type === "disabled") return undefined
  const effort = body.output_config?.effort
  if (typeof effort === "string") return OPENAI_EFFORT[effort]
  if (thinking?.type === "enabled" && typeof thinking.budget_tokens === "number") return effortOfBudget(thinking.budget_tokens)
  return undefined
}

/** Anthropic's floor for a thinking budget. */
const MIN_BUDGET = 1_024
const BUDGET_OF_EFFORT: Record<string, number> = { low: 2_048, medium: 8_192, high: 24_576, xhigh: 32_768, max: 32_768 }
const ANTHROPIC_EFFORT: Record<string, string> = { low: "low", medium: "medium", high: "high", xhigh: "xhigh", max: "max" }

/**
 * The Anthropic fields for an OpenAI `reasoning_effort`: adaptive thinking at that effort where
 * the model has it, else thinking within a budget below `maxTokens` (which includes thinking).
 * `none` and `minimal`, an unknown effort, or no room for the smallest budget mean no thinking.
 */
export const anthropicThinkingOf = (
  effort: unknown,
  upstreamModel: string,
  maxTokens: number
): { readonly thinking: Record<string, unknown>; readonly effort?: string } | undefined => {
  if (typeof effort !== "string") return undefined
  const anthropicEffort = ANTHROPIC_EFFORT[effort]
  if (anthropicEffort === undefined) return undefined
  if (claudeThinksAdaptively(upstreamModel)) return { thinking: { type: "adaptive" }, effort: anthropicEffort }
  const budget = Math.min(BUDGET_OF_EFFORT[effort]!, maxTokens - 1)
  return budget < MIN_BUDGET ? undefined : { thinking: { type: "enabled", budget_tokens: budget } }
}
