import { Schema } from "effect"
import type { RequestContext, ResolvedRequest } from "../context.ts"
import type { Endpoint, EndpointLeg } from "../endpoint.ts"
import { InvalidRequest, type RelayError } from "../errors.ts"
import { type FormPart, removePart, replacePart } from "../multipart.ts"
import { OpenAIUsageTap } from "../sse/usage-tap.ts"
import { estimatedUsage, fromImageUsage } from "../usage.ts"
import { decodeWith } from "./decode.ts"
import { respondPassthrough, useUpstreamModel } from "./legs.ts"

const ImageCount = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10 }))

const ImageFields = {
  model: Schema.NonEmptyString,
  prompt: Schema.NonEmptyString,
  n: Schema.optional(ImageCount),
  size: Schema.optional(Schema.String),
  quality: Schema.optional(Schema.String),
  stream: Schema.optional(Schema.Boolean),
  response_format: Schema.optional(Schema.Literals(["url", "b64_json"]))
}

export const ImageGenerationRequest = Schema.Struct(ImageFields)

/** An edit in JSON: the input images as URLs (data URLs too) or uploaded file ids. */
export const ImageEditRequest = Schema.Struct({
  ...ImageFields,
  images: Schema.Array(Schema.Struct({ image_url: Schema.optional(Schema.String), file_id: Schema.optional(Schema.String) }))
    .check(Schema.isMinLength(1), Schema.isMaxLength(16))
})

/** An edit as multipart/form-data: its text fields, as text. */
const ImageEditForm = Schema.Struct({
  model: Schema.NonEmptyString,
  prompt: Schema.NonEmptyString,
  n: Schema.optional(Schema.String.check(Schema.isPattern(/^(?:[1-9]|10)$/, { message: "a whole number from 1 to 10" }))),
  size: Schema.optional(Schema.String),
  quality: Schema.optional(Schema.String),
  stream: Schema.optional(Schema.Literals(["true", "false"])),
  response_format: Schema.optional(Schema.Literals(["url", "b64_json"]))
})


/**
 * Output image tokens of one GPT image at high quality, the worst case the reservation needs:
 * 4,160 for 1024x1024 (OpenAI's table), in proportion to the area for other sizes; low and
 * medium quality cost about a sixteenth and a quarter of that.
 */
const imageTokens = (size: string | undefined, quality: string | undefined): number => {
  const match = /^(\d+)x(\d+)$/.exec(size ?? "")
  const area = match ? Number(match[1]) * Number(match[2]) : 1536 * 1024
  const high = Math.ceil((4_160 * area) / (1024 * 1024))
  return quality === "low" ? Math.ceil(high / 16) : quality === "medium" ? Math.ceil(high / 4) : high
}

/** Reserves the worst case of the requested images; a form's count is text. */
const reserveImages = (ctx: RequestContext, request: { n?: number | string | undefined; size?: string | undefined; quality?: string | undefined }) => {
  ctx.reservedOutput = { completionTokens: 0, imageOutputTokens: Number(request.n ?? 1) * imageTokens(request.size, request.quality) }
}

const decodeForm = decodeWith(ImageEditForm, reserveImages)

const GPT_IMAGE = /^(?:gpt-image|chatgpt-image)/

/**
 * GPT image models always answer base64 and refuse `response_format` (a DALL-E field): it is
 * dropped when it asks for what they give anyway, refused when it asks for URLs, which the
 * relay does not host.
 */
const responseFormat = (ctx: ResolvedRequest): RelayError | "drop" | undefined => {
  const format = ctx.body.response_format
  if (format === undefined || !GPT_IMAGE.test(ctx.target.upstreamModel)) return undefined
  if (format === "url") {
    return new InvalidRequest({
      message: "response_format: GPT image models return base64 images (b64_json); the relay does not host image URLs",
      param: "response_format"
    })
  }
  return "drop"
}

/** An upload's form, adjusted for the upstream: its model's own name, no response_format. */
const prepareForm = (ctx: ResolvedRequest, form: ReadonlyArray<FormPart>, drop: boolean) => {
  const edits: Array<{ part: FormPart; value?: string }> = []
  for (const part of form) {
    if (part.name === "model" && ctx.target.upstreamModel !== ctx.model) edits.push({ part, value: ctx.target.upstreamModel })
    if (part.name === "response_format" && drop) edits.push({ part })
  }
  // From the last part back, so each edit leaves the offsets of the earlier ones valid.
  edits.sort((a, b) => b.part.from - a.part.from)
  let body = ctx.rawBody
  for (const edit of edits) body = edit.value === undefined ? removePart(body, edit.part) : replacePart(body, edit.part, edit.value)
  ctx.rawBody = body
}

const imageLeg = (path: string): EndpointLeg => ({
  path,
  prepare(ctx) {
    const format = responseFormat(ctx)
    if (format instanceof InvalidRequest) return format
    if (ctx.form !== undefined) return prepareForm(ctx, ctx.form, format === "drop")
    useUpstreamModel(ctx)
    if (format === "drop") ctx.setBodyField("response_format", undefined)
  },
  respond(ctx, upstream, finish) {
    // A streamed image ends with a `*.completed` event that carries the usage.
    const tap = new OpenAIUsageTap(false, fromImageUsage, true)
    return respondPassthrough(ctx, upstream, finish, {
      tap,
      streamUsage: () => tap.usage ?? estimatedUsage(undefined, () => ctx.estimatedPromptTokens(), 0),
      bodyUsage: fromImageUsage,
      failureEvent: new TextEncoder().encode(
        `event: error\ndata: ${JSON.stringify({ type: "error", error: { message: "the upstream stream failed", type: "server_error" } })}\n\n`
      )
    })
  }
})

const FILE_FIELDS = new Set(["image", "image[]", "mask"])

/** `POST /v1/images/generations`: GPT image generation, charged from the answer's image usage. */
export const imageGenerations: Endpoint = {
  route: "/images/generations",
  surface: "openai",
  decode: decodeWith(ImageGenerationRequest, reserveImages),
  legs: { openai: imageLeg("/images/generations") }
}

/**
 * `POST /v1/images/edits`: GPT image edits from a multipart upload (`image`, `image[]`,
 * `mask`) or a JSON body with image URLs. An upload is forwarded as sent.
 */
export const imageEdits: Endpoint = {
  route: "/images/edits",
  surface: "openai",
  decode: decodeWith(ImageEditRequest, reserveImages),
  decodeForm(ctx, fields) {
    // Files go by these names only, a mask at most once: any other file could carry a field
    // (a model, a count) that the upstream would read and the relay would not have checked.
    const files = ctx.form!.filter((part) => part.filename !== undefined)
    const stray = files.find((part) => !FILE_FIELDS.has(part.name))
    if (stray !== undefined) return new InvalidRequest({ message: `${stray.name}: an edit takes files only as image, image[] and mask`, param: stray.name })
    if (files.filter((part) => part.name === "mask").length > 1) return new InvalidRequest({ message: "mask: at most one mask", param: "mask" })
    const images = files.filter((part) => part.name === "image" || part.name === "image[]")
    if (images.length === 0) return new InvalidRequest({ message: "image: an edit needs at least one image file", param: "image" })
    if (images.length > 16) return new InvalidRequest({ message: "image: at most 16 images", param: "image" })
    return decodeForm(ctx, fields)
  },
  legs: { openai: imageLeg("/images/edits") }
}
