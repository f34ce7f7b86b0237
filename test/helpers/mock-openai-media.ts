import { createHash } from "node:crypto"
import type { ServerResponse } from "node:http"

/**
 * The embeddings and images routes of the mock OpenAI upstream, in the real wire format. Like
 * the real API, GPT image models refuse `response_format`, and an edit needs an image.
 */
export interface UploadedFile {
  readonly field: string
  readonly filename: string
  readonly size: number
  readonly sha256: string
}

export interface MediaRecord {
  /** Text fields of a multipart upload. */
  readonly fields: Record<string, string>
  readonly files: ReadonlyArray<UploadedFile>
}

/** Output image tokens the mock reports per image, and input image tokens per edited image. */
export const IMAGE_OUTPUT_TOKENS = 1_056
export const IMAGE_INPUT_TOKENS = 323
/** Of an edit's input, the image tokens the mock reports as cached (per request). */
export const IMAGE_CACHED_TOKENS = 100

const error = (message: string, param: string | null) => JSON.stringify({ error: { message, type: "invalid_request_error", param, code: null } })

/** A plain multipart reader, written apart from the relay's own so a shared mistake cannot hide. */
export const readMultipart = (body: Buffer, contentType: string): MediaRecord => {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType)
  const delimiter = `--${boundary?.[1] ?? boundary?.[2]}`
  const fields: Record<string, string> = {}
  const files: Array<UploadedFile> = []
  const text = body.toString("latin1")
  for (const chunk of text.split(delimiter).slice(1, -1)) {
    const [head, ...rest] = chunk.replace(/^\r\n/, "").split("\r\n\r\n")
    const value = Buffer.from(rest.join("\r\n\r\n").replace(/\r\n$/, ""), "latin1")
    const name = /name="([^"]*)"/.exec(head!)?.[1] ?? ""
    const filename = /filename="([^"]*)"/.exec(head!)?.[1]
    if (filename === undefined) fields[name] = value.toString("utf8")
    else files.push({ field: name, filename, size: value.length, sha256: createHash("sha256").update(value).digest("hex") })
  }
  return { fields, files }
}

const floats = (index: number, dimensions: number) => Array.from({ length: dimensions }, (_, i) => Math.fround((index + 1) / (i + 2)))

const base64Floats = (values: ReadonlyArray<number>) => {
  const bytes = Buffer.alloc(values.length * 4)
  values.forEach((value, i) => bytes.writeFloatLE(value, i * 4))
  return bytes.toString("base64")
}

const json = (res: ServerResponse, status: number, body: string) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(body)
}

export const answerEmbeddings = (res: ServerResponse, body: Record<string, unknown>) => {
  const input = body.input
  const items: Array<unknown> = Array.isArray(input) && (input.length === 0 || typeof input[0] !== "number") ? input : [input]
  if (items.length === 0 || items.some((item) => item === "" || (Array.isArray(item) && item.length === 0))) {
    return json(res, 400, error("'$.input' is invalid. Please check the API reference", "input"))
  }
  if (body.dimensions !== undefined && (!Number.isInteger(body.dimensions) || (body.dimensions as number) < 1 || (body.dimensions as number) > 3072)) {
    return json(res, 400, error("Invalid value for 'dimensions' = " + String(body.dimensions) + ". Must be an integer between 1 and 3072.", "dimensions"))
  }
  const dimensions = typeof body.dimensions === "number" ? body.dimensions : 4
  const tokens = items.reduce<number>((sum, item) => sum + (typeof item === "string" ? item.split(" ").length : Array.isArray(item) ? item.length : 0), 0)
  json(res, 200, JSON.stringify({
    object: "list",
    model: `${body.model}-mock`,
    data: items.map((_, index) => ({
      object: "embedding",
      index,
      embedding: body.encoding_format === "base64" ? base64Floats(floats(index, dimensions)) : floats(index, dimensions)
    })),
    usage: { prompt_tokens: tokens, total_tokens: tokens }
  }))
}

const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000", "hex").toString("base64")

export const answerImages = (res: ServerResponse, fields: Record<string, unknown>, imagesIn: number) => {
  if (typeof fields.model === "string" && /^gpt-image/.test(fields.model) && fields.response_format !== undefined) {
    return json(res, 400, error("Unknown parameter: 'response_format'.", "response_format"))
  }
  if (typeof fields.prompt !== "string" || fields.prompt === "") return json(res, 400, error("prompt is required", "prompt"))
  const n = Number(fields.n ?? 1)
  const textTokens = fields.prompt.split(" ").length
  const imageTokens = imagesIn * IMAGE_INPUT_TOKENS
  const cached = imagesIn > 0 ? IMAGE_CACHED_TOKENS : 0
  json(res, 200, JSON.stringify({
    created: 1_730_000_000,
    background: "opaque",
    output_format: "png",
    quality: fields.quality ?? "high",
    size: fields.size ?? "1024x1024",
    data: Array.from({ length: n }, () => ({ b64_json: PNG })),
    usage: {
      input_tokens: textTokens + imageTokens,
      input_tokens_details: {
        text_tokens: textTokens,
        image_tokens: imageTokens,
        cached_tokens: cached,
        cached_tokens_details: { text_tokens: 0, image_tokens: cached }
      },
      output_tokens: n * IMAGE_OUTPUT_TOKENS,
      output_tokens_details: { text_tokens: 0, image_tokens: n * IMAGE_OUTPUT_TOKENS },
      total_tokens: textTokens + imageTokens + n * IMAGE_OUTPUT_TOKENS
    }
  }))
}
