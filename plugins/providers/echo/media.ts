import { estimateTokens, InvalidRequest } from "../../../core/index.ts"
import { eventStream, namedEvent } from "./events.ts"

/**
 * The echo provider's embeddings and images: deterministic stand-ins in OpenAI's wire format,
 * with honest token counts, so the embeddings and images surfaces work offline.
 */

/** A unit vector derived from the text: the same text always embeds the same way. */
const vectorOf = (text: string, dimensions: number): Float32Array => {
  const vector = new Float32Array(dimensions)
  let seed = 2166136261
  for (let i = 0; i < text.length; i++) seed = Math.imul(seed ^ text.charCodeAt(i), 16777619)
  let norm = 0
  for (let i = 0; i < dimensions; i++) {
    seed = Math.imul(seed ^ (seed >>> 15), 2246822507) ^ i
    vector[i] = ((seed >>> 0) / 0xffffffff) * 2 - 1
    norm += vector[i]! * vector[i]!
  }
  const length = Math.sqrt(norm) || 1
  for (let i = 0; i < dimensions; i++) vector[i]! /= length
  return vector
}

/**
 * The most dimensions echo embeds into: OpenAI's largest model (text-embedding-3-large) has
 * 3072 and answers 400 above it. It also keeps the work of one request bounded.
 */
const MAX_DIMENSIONS = 3072

/** Bytes turned into characters per call: each is one argument, and engines cap their count. */
const CHARS_PER_CALL = 0x2000

/** Little-endian float32 bytes in base64: OpenAI's `encoding_format: "base64"`. */
const base64Of = (vector: Float32Array): string => {
  const bytes = new Uint8Array(vector.length * 4)
  const view = new DataView(bytes.buffer)
  vector.forEach((value, i) => view.setFloat32(i * 4, value, true))
  // `apply` rather than a spread: on Node a spread of this size is several times slower.
  let binary = ""
  for (let i = 0; i < bytes.length; i += CHARS_PER_CALL) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + CHARS_PER_CALL) as unknown as Array<number>)
  }
  return btoa(binary)
}

/** The embeddings answer, or a 400 for more dimensions than any OpenAI model has. */
export const embeddingsAnswer = (body: Record<string, unknown>): Response | InvalidRequest => {
  const dimensions = typeof body.dimensions === "number" ? body.dimensions : 8
  if (dimensions > MAX_DIMENSIONS) {
    return new InvalidRequest({ message: `dimensions: at most ${MAX_DIMENSIONS}`, param: "dimensions" })
  }
  const input = body.input
  const texts = typeof input === "string"
    ? [input]
    : Array.isArray(input) && typeof input[0] === "number"
    ? [input.join(" ")]
    : Array.isArray(input)
    ? input.map((item) => (typeof item === "string" ? item : Array.isArray(item) ? item.join(" ") : ""))
    : []
  const base64 = body.encoding_format === "base64"
  const tokens = texts.reduce((sum, text) => sum + estimateTokens(text), 0)
  return Response.json({
    object: "list",
    model: body.model,
    data: texts.map((text, index) => {
      const vector = vectorOf(text, dimensions)
      return { object: "embedding", index, embedding: base64 ? base64Of(vector) : Array.from(vector) }
    }),
    usage: { prompt_tokens: tokens, total_tokens: tokens }
  })
}

/** A 1x1 transparent PNG: the smallest honest image. */
const PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

/** Image output tokens the echo provider reports per image: OpenAI's low-quality 1024x1024 figure. */
const ECHO_IMAGE_TOKENS = 272

/** What echo's images are, reported with each as OpenAI reports its own. */
const ECHO_IMAGE = { background: "transparent", output_format: "png", quality: "low", size: "1024x1024" } as const

/** OpenAI's bound on the partial images a stream may ask for. */
const MAX_PARTIAL_IMAGES = 3

/**
 * An images answer, whole or (`stream`, true in JSON or "true" in a form) as OpenAI streams it:
 * the partial images asked for, then a `completed` event with the image and the usage the
 * whole answer reports. `kind` names the events: `image_generation` or `image_edit`.
 */
export const imagesAnswer = (
  fields: Record<string, unknown>,
  kind: "image_generation" | "image_edit",
  chunkDelayMs: number
): Response | InvalidRequest => {
  const n = Number(fields.n ?? 1) || 1
  const textTokens = estimateTokens(String(fields.prompt ?? ""))
  const usage = {
    input_tokens: textTokens,
    input_tokens_details: { text_tokens: textTokens, image_tokens: 0 },
    output_tokens: n * ECHO_IMAGE_TOKENS,
    output_tokens_details: { text_tokens: 0, image_tokens: n * ECHO_IMAGE_TOKENS },
    total_tokens: textTokens + n * ECHO_IMAGE_TOKENS
  }
  const created = Math.floor(Date.now() / 1000)
  if (fields.stream !== true && fields.stream !== "true") {
    return Response.json({ created, ...ECHO_IMAGE, data: Array.from({ length: n }, () => ({ b64_json: PIXEL })), usage })
  }
  // OpenAI refuses both: a stream carries one image, with at most three partial ones before it.
  if (n !== 1) return new InvalidRequest({ message: "n: streaming is only supported with n=1", param: "n" })
  const partials = Number(fields.partial_images ?? 0)
  if (!Number.isInteger(partials) || partials < 0 || partials > MAX_PARTIAL_IMAGES) {
    return new InvalidRequest({ message: `partial_images: a whole number from 0 to ${MAX_PARTIAL_IMAGES}`, param: "partial_images" })
  }
  const image = { b64_json: PIXEL, ...ECHO_IMAGE, created_at: created }
  return eventStream([
    ...Array.from({ length: partials }, (_, index) => namedEvent(`${kind}.partial_image`, { partial_image_index: index, ...image })),
    namedEvent(`${kind}.completed`, { ...image, usage })
  ], chunkDelayMs)
}
