import { openai, type OpenAIOptions } from "../openai/index.ts"

export type GoogleOptions = OpenAIOptions

export const GOOGLE_PATTERNS = ["gemini-*"]

/** Gemini's OpenAI-compatible API root. */
const GEMINI_OPENAI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta/openai"

/**
 * The Google provider for Gemini models, over Gemini's OpenAI-compatible endpoint: the same
 * wire format as OpenAI (Bearer key, chat completions, stream usage), so it is the OpenAI
 * adapter under another name, root and patterns.
 */
export const google = (options: GoogleOptions = {}) =>
  openai({
    ...options,
    name: options.name ?? "google",
    baseUrl: options.baseUrl ?? GEMINI_OPENAI_BASE_URL,
    // Gemini serves chat completions only: Responses requests are translated into those.
    responses: false,
    patterns: options.patterns ?? GOOGLE_PATTERNS
  })
