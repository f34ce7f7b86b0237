import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { InvalidRequest } from "../../core/errors.ts"
import { ChatToResponsesStream } from "../../core/translate/responses-from-chat.ts"
import { ResponseBuilder } from "../../core/translate/responses-output.ts"
import { responsesToAnthropic } from "../../core/translate/responses-to-anthropic.ts"
import { responsesToChat } from "../../core/translate/responses-to-chat.ts"

const encoder = new TextEncoder()
/** A Claude model that thinks within a budget (not adaptively). */
const TARGET = { model: "claude-sonnet-4-5", maxOutputTokens: 8_000, reasoning: true, clientModel: "claude-sonnet-4-5" }
const FUNCTION = { type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }
const CUSTOM = { type: "custom", name: "apply_patch", description: "Patch files." }

/** The events of an SSE text, as [type, sequence_number]. */
const eventsOf = (text: string) =>
  text.split("\n\n").filter((block) => block !== "").map((block) => {
    const data = JSON.parse(block.slice(block.indexOf("data: ") + 6)) as { type: string; sequence_number: number }
    return [data.type, data.sequence_number] as const
  })

describe("Responses requests as chat completions", () => {
  it("joins tool calls to their assistant message, custom tools as functions of one string, namespaces flat", () => {
    const chat = responsesToChat({
      model: "m",
      instructions: "Be brief.",
      input: [
        { role: "user", content: "hi" },
        { type: "reasoning", id: "rs_1", summary: [] },
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "Checking." }] },
        { type: "function_call", call_id: "c1", name: "get_weather", arguments: "{\"city\":\"Rome\"}" },
        { type: "custom_tool_call", call_id: "c2", name: "apply_patch", input: "*** Begin Patch" },
        { type: "function_call_output", call_id: "c1", output: "18C" },
        { type: "custom_tool_call_output", call_id: "c2", output: "Done" }
      ],
      tools: [FUNCTION, CUSTOM, { type: "namespace", name: "ns", tools: [{ type: "function", name: "inner", parameters: { type: "object" } }] }, { type: "web_search" }],
      text: { format: { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true } },
      reasoning: { effort: "low" },
      max_output_tokens: 100,
      stream: true
    }, { model: "upstream-m", clientModel: "m", maxOutputTokens: 64, reasoning: true }) as Record<string, unknown>
    assert.deepEqual(chat.messages, [
      { role: "system", content: "Be brief." },
      { role: "user", content: "hi" },
      {
        role: "assistant",
        content: "Checking.",
        tool_calls: [
          { id: "c1", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Rome\"}" } },
          { id: "c2", type: "function", function: { name: "apply_patch", arguments: "{\"input\":\"*** Begin Patch\"}" } }
        ]
      },
      { role: "tool", tool_call_id: "c1", content: "18C" },
      { role: "tool", tool_call_id: "c2", content: "Done" }
    ])
    assert.deepEqual((chat.tools as Array<{ function: { name: string } }>).map((tool) => tool.function.name), ["get_weather", "apply_patch", "inner"])
    assert.deepEqual(chat.response_format, { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" }, strict: true } })
    assert.deepEqual([chat.model, chat.reasoning_effort, chat.max_completion_tokens, chat.stream_options], ["upstream-m", "low", 64, { include_usage: true }])
  })

  it("sends the reasoning effort only to a model that reasons", () => {
    const chat = responsesToChat({ model: "m", input: "x", reasoning: { effort: "high" } }, { model: "m", clientModel: "m", maxOutputTokens: undefined, reasoning: false })
    assert.equal((chat as Record<string, unknown>).reasoning_effort, undefined)
  })

  it("refuses a built-in tool when a tool call is required, naming it", () => {
    const refused = responsesToChat({ model: "m", input: "x", tools: [{ type: "file_search" }], tool_choice: "required" }, { model: "m", clientModel: "m", maxOutputTokens: undefined, reasoning: false })
    assert.ok(refused instanceof InvalidRequest)
    assert.equal(refused.param, "tools[0].type")
    assert.match(refused.message, /file_search/)
  })
})

describe("Responses requests as Anthropic Messages", () => {
  it("thinks by the effort's budget, without sampling settings, below max_tokens", () => {
    const out = responsesToAnthropic({ model: "m", input: "x", reasoning: { effort: "medium" }, temperature: 0.2 }, TARGET) as Record<string, unknown>
    assert.deepEqual(out.thinking, { type: "enabled", budget_tokens: 7_999 })
    assert.equal(out.temperature, undefined)
    const low = responsesToAnthropic({ model: "m", input: "x", reasoning: { effort: "low" }, max_output_tokens: 5_000 }, TARGET) as Record<string, unknown>
    assert.deepEqual(low.thinking, { type: "enabled", budget_tokens: 2_048 })
    assert.equal(low.max_tokens, 5_000)
  })

  it("does not think with a forced tool or an effort of none, and keeps the temperature then", () => {
    const forced = responsesToAnthropic(
      { model: "m", input: "x", reasoning: { effort: "high" }, tools: [FUNCTION], tool_choice: { type: "function", name: "get_weather" }, temperature: 1.5 },
      TARGET
    ) as Record<string, unknown>
    assert.equal(forced.thinking, undefined)
    assert.deepEqual(forced.tool_choice, { type: "tool", name: "get_weather" })
    assert.equal(forced.temperature, 1)
    const none = responsesToAnthropic({ model: "m", input: "x", reasoning: { effort: "none" } }, TARGET) as Record<string, unknown>
    assert.equal(none.thinking, undefined)
  })

  it("thinks after a tool call only when that turn's signed thinking came back", () => {
    const call = { type: "function_call", call_id: "c1", name: "get_weather", arguments: "{}" }
    const output = { type: "function_call_output", call_id: "c1", output: "18C" }
    const request = (input: Array<unknown>) =>
      responsesToAnthropic({ model: "m", input, tools: [FUNCTION], reasoning: { effort: "low" } }, TARGET) as Record<string, unknown>
    assert.equal(request([{ role: "user", content: "x" }, call, output]).thinking, undefined)
    const thought = { type: "thinking", thinking: "hm", signature: "sig" }
    const reasoning = { type: "reasoning", id: "rs_1", summary: [], encrypted_content: `rr-thinking:${btoa(JSON.stringify(thought))}` }
    const signed = request([{ role: "user", content: "x" }, reasoning, call, output])
    assert.deepEqual(signed.thinking, { type: "enabled", budget_tokens: 2_048 })
    assert.deepEqual((signed.messages as Array<{ content: Array<unknown> }>)[1]!.content[0], thought)
  })

  it("refuses input it cannot carry, naming the item", () => {
    const refused = responsesToAnthropic({ model: "m", input: [{ type: "item_reference", id: "msg_1" }] }, TARGET)
    assert.ok(refused instanceof InvalidRequest)
    assert.equal(refused.param, "input[0].type")
  })
})

describe("the response builder", () => {
  it("numbers every event from 0 and closes each item before the next", () => {
    const builder = new ResponseBuilder({ model: "m", echo: {}, stream: true, summaries: true })
    const text = builder.start() + builder.text("Hi") + builder.toolCall("function_call", "c1", "f") + builder.toolInput("{}") +
      builder.finish({ status: "completed" }, undefined)
    const events = eventsOf(text)
    assert.deepEqual(events.map(([, n]) => n), events.map((_, i) => i))
    assert.deepEqual(events.map(([type]) => type), [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed"
    ])
    assert.deepEqual(builder.output.map((item) => item.type), ["message", "function_call"])
  })

  it("tells reasoning as a summary only when the request asked for summaries", () => {
    const quiet = new ResponseBuilder({ model: "m", echo: {}, stream: true, summaries: false })
    const text = quiet.reasoning("hm") + quiet.reasoningState("state") + quiet.close()
    assert.deepEqual(eventsOf(text).map(([type]) => type), ["response.output_item.added", "response.output_item.done"])
    assert.deepEqual(quiet.output[0], { id: quiet.output[0]!.id, type: "reasoning", summary: [], encrypted_content: "state" })
  })

  it("tells a streamed custom tool call whole once the call ends", () => {
    const builder = new ResponseBuilder({ model: "m", echo: {}, stream: true, summaries: true })
    const stream = new ChatToResponsesStream(builder, new Set(["apply_patch"]), () => 0)
    const chunk = (delta: unknown, finish: string | null = null) =>
      encoder.encode(`data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`)
    let out = stream.event(chunk({ tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "apply_patch", arguments: "" } }] }))
    out += stream.event(chunk({ tool_calls: [{ index: 0, function: { arguments: "{\"input\":\"*** Be" } }] }))
    out += stream.event(chunk({ tool_calls: [{ index: 0, function: { arguments: "gin\"}" } }] }))
    out += stream.event(chunk({}, "tool_calls"))
    out += stream.event(encoder.encode("data: [DONE]\n\n"))
    const inputs = eventsOf(out).filter(([type]) => type.startsWith("response.custom_tool_call_input"))
    assert.deepEqual(inputs.map(([type]) => type), ["response.custom_tool_call_input.delta", "response.custom_tool_call_input.done"])
    assert.deepEqual(builder.output[0], { id: builder.output[0]!.id, type: "custom_tool_call", status: "completed", call_id: "c1", name: "apply_patch", input: "*** Begin" })
    assert.equal(stream.end().kind, "complete")
  })
})
