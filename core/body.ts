import { concatChunks } from "./chunk-reader.ts"
import { InvalidRequest, PayloadTooLarge, RateLimited, RequestTimeout } from "./errors.ts"
import { jsonShapeProblem } from "./json-limits.ts"

/** How long a client may take to send a body: a base, plus time for its size at a slowest rate. */
export interface BodyPace {
  /** Allowed for any body, and the longest silence accepted within one. */
  readonly timeoutMs: number
  /** The slowest sustained rate accepted; a body of n bytes gets `timeoutMs + n / rate`. */
  readonly minBytesPerSecond: number
}

/** The defaults: a stalled body is dropped within 10 s; 25 MiB may take up to 110 s. */
export const DEFAULT_BODY_PACE: BodyPace = { timeoutMs: 10_000, minBytesPerSecond: 256 * 1024 }

/**
 * Bytes of request bodies being received, per relay key, against a cap: bodies that trickle
 * or stall hold memory until their time is up, and one key may not hold more than its share.
 */
export class BodyBudget {
  private readonly held = new Map<string, number>()

  constructor(readonly maxBytesPerKey: number) {}

  /** Takes `bytes` for `key`; false (nothing taken) if that would pass the cap. */
  take(key: string, bytes: number): boolean {
    const now = (this.held.get(key) ?? 0) + bytes
    if (now > this.maxBytesPerKey) return false
    this.held.set(key, now)
    return true
  }

  give(key: string, bytes: number): void {
    const left = (this.held.get(key) ?? 0) - bytes
    if (left <= 0) this.held.delete(key)
    else this.held.set(key, left)
  }
}

/** Who receives a body: its key's budget, when the caller is known. */
export interface BodyOwner {
  readonly budget: BodyBudget
  readonly key: string
}

/**
 * A body over the limit is still read (and dropped) up to this many bytes after the 413 has
 * gone out: a client that writes its body in pieces reads no answer until it has written them,
 * and a relay that answered and closed first would leave it a broken pipe instead of the 413.
 */
const DISCARD_MAX_BYTES = 128 * 1024 * 1024
/** Bodies up to this size are read whole, the cheapest way; larger ones chunk by chunk, watched for silence. */
const WHOLE_READ_MAX_BYTES = 1024 * 1024

const tooLarge = (maxBytes: number) =>
  new PayloadTooLarge({ message: `request body is larger than the relay's limit of ${maxBytes} bytes` })

const tooSlow = () => new RequestTimeout({ message: "request body did not arrive in time" })

const overBudget = () =>
  new RateLimited({ message: "this key has too many request bodies in flight; retry when they have arrived", retryAfterSeconds: 1 })

const allowedMs = (pace: BodyPace, bytes: number) => pace.timeoutMs + (bytes * 1000) / pace.minBytesPerSecond

type BodyResult = Uint8Array<ArrayBuffer> | PayloadTooLarge | RequestTimeout | RateLimited

/** `work`, or `late()` if it takes longer than `ms`. */
const within = <A>(ms: number, work: Promise<A>, late: () => A): Promise<A> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<A>((resolve) => {
    timer = setTimeout(() => resolve(late()), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

/**
 * A body the runtime's server reads whole: its bytes when they have all arrived, a promise of
 * them while they arrive (rejected if the client goes before the end), or undefined when the
 * server cannot (the Web Request's own reading then serves).
 */
export type ArrivedBody = () => Uint8Array<ArrayBuffer> | Promise<Uint8Array<ArrayBuffer>> | undefined

const arrived = new WeakMap<Request, ArrivedBody>()

/**
 * Lets `readBody` take `request`'s body of a declared length straight from the runtime's
 * server (a small body comes in the packet of its head) instead of through the Web Request:
 * on Node, Hono's adapter reads it in several promise hops, about 40 us at concurrency 1.
 */
export const readArrivedBodyWith = (request: Request, read: ArrivedBody): void => {
  arrived.set(request, read)
}

/**
 * Reads a request body up to `maxBytes`, in the time its size allows (`pace`), within its
 * key's budget of bytes in flight (`owner`). A body over the limit gets its 413 at once and is
 * read on and dropped, up to a bound; one that stalls or trickles gets a 408. A body that has
 * all arrived (a small one comes in the packet of its head) is answered without a promise.
 */
export const readBody = (
  request: Request,
  maxBytes: number,
  pace: BodyPace = DEFAULT_BODY_PACE,
  owner?: BodyOwner
): BodyResult | Promise<BodyResult> => {
  const declared = request.headers.get("content-length")
  const length = declared === null ? undefined : Number(declared)
  if (length !== undefined && length > maxBytes) {
    if (length <= DISCARD_MAX_BYTES) void discard(request, allowedMs(pace, length))
    return tooLarge(maxBytes)
  }
  // A declared length is taken from the budget at once; a chunked body as its chunks arrive.
  const taken = length ?? 0
  if (owner !== undefined && !owner.budget.take(owner.key, taken)) return overBudget()
  // The HTTP parser holds a body to its declared length, so one of a moderate size can be read
  // whole; the server adapters read it this way without building a Web stream.
  let whole: ReturnType<ArrivedBody>
  try {
    whole = length !== undefined && length <= WHOLE_READ_MAX_BYTES ? arrived.get(request)?.() : undefined
  } catch (error) {
    owner?.budget.give(owner.key, taken)
    throw error
  }
  if (whole instanceof Uint8Array) {
    owner?.budget.give(owner.key, taken)
    return whole
  }
  return readArriving(request, maxBytes, pace, owner, length, taken, whole)
}

/** The rest of `readBody`: a body still arriving, `taken` bytes of its budget held until it has. */
const readArriving = async (
  request: Request,
  maxBytes: number,
  pace: BodyPace,
  owner: BodyOwner | undefined,
  length: number | undefined,
  taken: number,
  arriving: Promise<Uint8Array<ArrayBuffer>> | undefined
): Promise<BodyResult> => {
  const take = owner === undefined ? () => true : (bytes: number) => {
    if (!owner.budget.take(owner.key, bytes)) return false
    taken += bytes
    return true
  }
  try {
    if (length !== undefined && length <= WHOLE_READ_MAX_BYTES) {
      const whole: Promise<BodyResult> = arriving ?? request.arrayBuffer().then((buffer) => new Uint8Array(buffer))
      return await within(allowedMs(pace, length), whole, tooSlow)
    }
    // Only here is the body's Web stream asked for: on Node, Hono's adapter builds a whole
    // undici Request for it, which would cost a small request a third of its time.
    const body = request.body
    if (body === null) return new Uint8Array()
    return await readChunks(body, maxBytes, pace, Date.now() + allowedMs(pace, length ?? maxBytes), length === undefined ? take : () => true)
  } finally {
    owner?.budget.give(owner.key, taken)
  }
}

/**
 * A body read chunk by chunk: cut at `maxBytes` (then read on and dropped), at a silence, at
 * `deadline`, or when its key's budget cannot `take` a chunk.
 */
const readChunks = async (
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  pace: BodyPace,
  deadline: number,
  take: (bytes: number) => boolean
): Promise<BodyResult> => {
  const reader = body.getReader()
  const parts: Array<Uint8Array> = []
  let length = 0
  for (;;) {
    const wait = Math.min(pace.timeoutMs, deadline - Date.now())
    const next = wait <= 0 ? undefined : await within(wait, reader.read(), () => undefined)
    if (next === undefined) {
      reader.cancel().catch(() => undefined)
      return tooSlow()
    }
    if (next.done) break
    length += next.value.length
    if (length > maxBytes) {
      void drain(reader, DISCARD_MAX_BYTES - length, deadline)
      return tooLarge(maxBytes)
    }
    if (!take(next.value.length)) {
      reader.cancel().catch(() => undefined)
      return overBudget()
    }
    parts.push(next.value)
  }
  // Request streams hand out plain ArrayBuffer-backed chunks, never shared memory.
  return concatChunks(parts) as Uint8Array<ArrayBuffer>
}

/** Reads and drops what is left of a body, up to `bytes` and until `deadline`. */
const drain = async (reader: ReadableStreamDefaultReader<Uint8Array>, bytes: number, deadline: number): Promise<void> => {
  let left = bytes
  while (left > 0) {
    const wait = deadline - Date.now()
    if (wait <= 0) break
    const next = await within(wait, reader.read(), () => undefined).catch(() => undefined)
    if (next === undefined || next.done) return
    left -= next.value.length
  }
  reader.cancel().catch(() => undefined)
}

/** Reads and drops a whole body within `ms`. */
const discard = async (request: Request, ms: number): Promise<void> => {
  if (request.body === null) return
  await drain(request.body.getReader(), DISCARD_MAX_BYTES, Date.now() + ms)
}

const decoder = new TextDecoder()

/** Parses a JSON object body within the shape limits; anything else is a 400 that says what was wrong. */
export const parseJsonObject = (bytes: Uint8Array): Record<string, unknown> | InvalidRequest => {
  if (bytes.length === 0) return new InvalidRequest({ message: "request body is empty; expected a JSON object" })
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch {
    return new InvalidRequest({ message: "request body is not valid JSON" })
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return new InvalidRequest({ message: "request body must be a JSON object" })
  }
  const problem = jsonShapeProblem(value)
  return problem === undefined ? (value as Record<string, unknown>) : new InvalidRequest({ message: problem })
}
