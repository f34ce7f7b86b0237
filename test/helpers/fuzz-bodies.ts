/**
 * Generated and mutated request bodies for the fuzz test: valid requests of every proxied
 * route, then broken the ways hostile or careless clients break them (a field of the wrong
 * type, a fractional or huge number, deep nesting, long arrays, truncated JSON, stray bytes).
 * A seeded generator, so a failure names a seed that reproduces it.
 */

/** A small, fast PRNG (mulberry32): the same seed gives the same bodies. */
export const random = (seed: number) => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(items: ReadonlyArray<T>): T => items[int(items.length)]!
  return { next, int, pick }
}

type Random = ReturnType<typeof random>

export interface FuzzRoute {
  readonly path: string
  /** Valid bodies this route accepts. */
  readonly seeds: ReadonlyArray<Record<string, unknown>>
}

const user = (content: unknown) => ({ role: "user", content })

const CHAT_SEEDS = [
  { model: "gpt-4o-mini", messages: [user("hello")] },
  { model: "claude-sonnet-4-6", messages: [{ role: "system", content: "be brief" }, user("hi")], max_tokens: 50 },
  { model: "echo-1", messages: [user([{ type: "text", text: "hi" }])], stream: true, stream_options: { include_usage: true } },
  {
    model: "claude-sonnet-4-6",
    messages: [user("weather?")],
    max_completion_tokens: 100,
    tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
    tool_choice: "auto"
  }
]

const MESSAGES_SEEDS = [
  { model: "claude-sonnet-4-6", max_tokens: 100, messages: [user("hello")] },
  { model: "gpt-4o-mini", max_tokens: 100, system: "be brief", messages: [user([{ type: "text", text: "hi" }])], stream: true },
  { model: "echo-1", max_tokens: 100, messages: [user("hi")], thinking: { type: "enabled", budget_tokens: 1024 } },
  {
    model: "gpt-4o-mini",
    max_tokens: 100,
    messages: [user("weather?")],
    tools: [{ name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }]
  }
]

export const FUZZ_ROUTES: ReadonlyArray<FuzzRoute> = [
  { path: "/v1/chat/completions", seeds: CHAT_SEEDS },
  { path: "/v1/chat", seeds: CHAT_SEEDS },
  { path: "/v1/messages", seeds: MESSAGES_SEEDS },
  { path: "/v1/messages/count_tokens", seeds: MESSAGES_SEEDS.map(({ max_tokens: _, stream: __, ...rest }) => rest) },
  { path: "/v1/embeddings", seeds: [{ model: "text-embedding-3-small", input: "hello" }, { model: "echo-embed", input: ["a", "b"] }] },
  { path: "/v1/images/generations", seeds: [{ model: "gpt-image-2", prompt: "a cat" }, { model: "echo-image", prompt: "a dog", n: 1 }] },
  { path: "/v1/images/edits", seeds: [{ model: "gpt-image-2", prompt: "a cat", images: [{ image_url: "data:image/png;base64,AAAA" }] }] },
  {
    path: "/v1/responses",
    seeds: [
      { model: "echo-1", input: "hello" },
      { model: "gpt-4o-mini", input: [{ role: "user", content: "hi" }], stream: true },
      { model: "claude-sonnet-4-6", instructions: "be brief", input: [{ role: "user", content: [{ type: "input_text", text: "hi" }] }], max_output_tokens: 50 },
      { model: "claude-sonnet-4-6", input: "weather?", tools: [{ type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }] }
    ]
  },
  { path: "/byok/v1/chat/completions", seeds: CHAT_SEEDS }
]

/** Fields every surface reads, where a wrong value is most likely to slip past a check. */
const HOT_FIELDS = [
  "model", "messages", "max_tokens", "max_completion_tokens", "max_output_tokens", "stream", "stream_options", "tools",
  "tool_choice", "system", "temperature", "top_p", "n", "input", "prompt", "size", "thinking", "metadata", "stop",
  "response_format", "dimensions", "encoding_format", "images", "user", "seed", "logit_bias"
]

const NUMBERS = [0, -1, 0.5, 1.5, -0.5, 1e-300, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 4294967297, 1e21, 999999999999]

/** A deeply nested value: `depth` arrays or objects inside one another. */
export const nested = (depth: number, kind: "array" | "object"): string =>
  kind === "array" ? `${"[".repeat(depth)}1${"]".repeat(depth)}` : `${"{\"a\":".repeat(depth)}1${"}".repeat(depth)}`

const scalar = (r: Random): unknown =>
  r.pick<() => unknown>([
    () => r.pick(NUMBERS),
    () => r.next() * 1e6 - 5e5,
    () => r.int(100000),
    () => "",
    () => "x".repeat(r.int(5000)),
    () => "\u0000\ud800\uffff",
    () => r.pick(["true", "false", "null", "NaN", "Infinity", "-1", "0.5", "1e999"]),
    () => true,
    () => false,
    () => null
  ])()

const value = (r: Random, depth = 0): unknown => {
  if (depth > 3 || r.next() < 0.5) return scalar(r)
  if (r.next() < 0.5) return Array.from({ length: r.int(4) }, () => value(r, depth + 1))
  const record: Record<string, unknown> = {}
  for (let i = r.int(4); i > 0; i--) record[r.pick([...HOT_FIELDS, "type", "text", "role", "content", "function", "name", "__proto__"])] = value(r, depth + 1)
  return record
}

/** Every path to a place inside `body` that holds a value. */
const paths = (node: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []) => {
  if (Array.isArray(node)) node.forEach((item, i) => (out.push([...prefix, i]), paths(item, [...prefix, i], out)))
  else if (node !== null && typeof node === "object") {
    for (const [key, item] of Object.entries(node)) {
      out.push([...prefix, key])
      paths(item, [...prefix, key], out)
    }
  }
  return out
}

const setAt = (root: unknown, path: ReadonlyArray<string | number>, replacement: unknown, remove = false) => {
  let node = root as Record<string | number, unknown>
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, unknown>
  const last = path[path.length - 1]!
  if (remove) {
    if (Array.isArray(node)) node.splice(last as number, 1)
    else delete node[last]
  } else node[last] = replacement
}

/** One mutation of a copy of `seed`, as the JSON text to send. */
const mutate = (r: Random, seed: Record<string, unknown>): string => {
  const body = structuredClone(seed) as Record<string, unknown>
  const roll = r.int(20)
  if (roll === 0) {
    // A nesting deeper than any parser on the path should be asked to follow.
    const depth = r.pick([100, 129, 1_000, 5_000, 10_000])
    const deep = `__DEEP__`
    const where = r.pick([["messages", 0, "content"], ["tools"], ["metadata"], ["input"], ["system"], ["tools", 0, "function", "parameters"], ["messages"]])
    try {
      setAt(body, where, deep)
    } catch {
      body[String(where[0])] = deep
    }
    return JSON.stringify(body).replace(`"${deep}"`, nested(depth, r.next() < 0.5 ? "array" : "object"))
  }
  if (roll === 1) {
    // A long array where a short one is expected.
    const length = r.pick([1_000, 20_000, 100_001])
    const item = length > 20_000 ? r.pick<unknown>([1, 0.5, "", null]) : r.pick<unknown>([user("x"), 1, "x", {}, { type: "text", text: "x" }])
    body[r.pick(["messages", "tools", "input", "stop", "images"])] = Array.from({ length }, () => item)
    return JSON.stringify(body)
  }
  if (roll === 2 || roll === 3) {
    const text = JSON.stringify(body)
    // Truncated, or a stray byte inside.
    const cut = r.int(text.length)
    return r.next() < 0.5 ? text.slice(0, cut) : `${text.slice(0, cut)}${r.pick(["\u0000", "}", "]", "\"", ",", "\\", "\ud800"])}${text.slice(cut)}`
  }
  if (roll === 4) return JSON.stringify(r.pick<unknown>([[], null, 1, "text", [body], true]))
  for (let n = 1 + r.int(3); n > 0; n--) {
    const all = paths(body)
    if (r.next() < 0.5 || all.length === 0) body[r.pick(HOT_FIELDS)] = r.next() < 0.5 ? scalar(r) : value(r)
    else {
      const path = r.pick(all)
      if (r.next() < 0.2) setAt(body, path, undefined, true)
      else setAt(body, path, r.next() < 0.6 ? scalar(r) : value(r))
    }
  }
  return JSON.stringify(body) ?? "{}"
}

/** The `index`th fuzz case: its route and the body text to send. */
export const fuzzCase = (seed: number, index: number): { readonly route: FuzzRoute; readonly body: string } => {
  const r = random(seed * 1_000_003 + index)
  const route = FUZZ_ROUTES[index % FUZZ_ROUTES.length]!
  return { route, body: r.next() < 0.05 ? JSON.stringify(value(r)) ?? "null" : mutate(r, r.pick(route.seeds)) }
}
