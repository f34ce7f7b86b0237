import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { makeUsageRecords, type UsageRecord } from "../../plugins/billing/usage-records.ts"
import { openNodeStore } from "../../runtime/node-store.ts"

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5, 678)

const record = (fields: Partial<UsageRecord> = {}): UsageRecord => ({
  requestId: "req_1",
  accountId: "acct_1",
  keyId: "key_1",
  createdAt: NOW,
  surface: "openai",
  model: "gpt-4o",
  provider: "openai",
  byok: false,
  status: 200,
  usage: {
    promptTokens: 10,
    completionTokens: 20,
    cachedTokens: 3,
    cacheWriteTokens: 4,
    imageInputTokens: 5,
    imageOutputTokens: 6,
    source: "upstream"
  },
  cost: 1_234_567_891n,
  latencyMs: 12.5,
  ttfbMs: 3.25,
  ...fields
})

describe("usage records", () => {
  it("lists a record as the API shows it", () => {
    const records = makeUsageRecords(openNodeStore(":memory:"))
    records.add(record())
    assert.deepEqual(records.list("acct_1", 10), [{
      id: "req_1",
      created_at: "2026-01-02T03:04:05.678Z",
      surface: "openai",
      model: "gpt-4o",
      provider: "openai",
      byok: false,
      status: 200,
      prompt_tokens: 10,
      completion_tokens: 20,
      cached_tokens: 3,
      cache_write_tokens: 4,
      image_input_tokens: 5,
      image_output_tokens: 6,
      cost: "1.234567891",
      usage_source: "upstream",
      latency_ms: 12.5,
      ttfb_ms: 3.25
    }])
  })

  it("lists newest first, up to the limit", () => {
    const records = makeUsageRecords(openNodeStore(":memory:"))
    for (let i = 1; i <= 5; i++) records.add(record({ requestId: `req_${i}` }))
    assert.deepEqual(records.list("acct_1", 10).map((r) => r.id), ["req_5", "req_4", "req_3", "req_2", "req_1"])
    assert.deepEqual(records.list("acct_1", 2).map((r) => r.id), ["req_5", "req_4"])
    assert.deepEqual(records.list("acct_1", 1).map((r) => r.id), ["req_5"])
  })

  it("orders by insertion, not by the time a request started", () => {
    const records = makeUsageRecords(openNodeStore(":memory:"))
    records.add(record({ requestId: "late", createdAt: NOW + 10_000 }))
    records.add(record({ requestId: "early", createdAt: NOW }))
    assert.deepEqual(records.list("acct_1", 10).map((r) => r.id), ["early", "late"])
  })

  it("lists only the account's own records", () => {
    const records = makeUsageRecords(openNodeStore(":memory:"))
    records.add(record({ requestId: "mine" }))
    records.add(record({ requestId: "theirs", accountId: "acct_2" }))
    assert.deepEqual(records.list("acct_1", 10).map((r) => r.id), ["mine"])
    assert.deepEqual(records.list("acct_2", 10).map((r) => r.id), ["theirs"])
    assert.deepEqual(records.list("acct_3", 10), [])
  })

  it("formats the cost as a nine-decimal USD string, exactly beyond 2^53 nano-USD", () => {
    const records = makeUsageRecords(openNodeStore(":memory:"))
    records.add(record({ requestId: "zero", cost: 0n }))
    records.add(record({ requestId: "tiny", cost: 1n }))
    records.add(record({ requestId: "big", cost: 9_007_199_254_740_993n }))
    assert.deepEqual(records.list("acct_1", 10).map((r) => [r.id, r.cost]), [
      ["big", "9007199.254740993"],
      ["tiny", "0.000000001"],
      ["zero", "0.000000000"]
    ])
  })

  it("reads byok back as a boolean", () => {
    const records = makeUsageRecords(openNodeStore(":memory:"))
    records.add(record({ requestId: "pool", byok: false }))
    records.add(record({ requestId: "own", byok: true }))
    const listed = records.list("acct_1", 10)
    assert.deepEqual(listed.map((r) => [r.id, r.byok]), [["own", true], ["pool", false]])
    for (const r of listed) assert.equal(typeof r.byok, "boolean")
  })

  it("keeps absent key, provider and time to first byte as null", () => {
    const records = makeUsageRecords(openNodeStore(":memory:"))
    records.add(record({ keyId: undefined, provider: undefined, ttfbMs: undefined, status: 0, usage: { ...record().usage, source: "estimated" } }))
    const [listed] = records.list("acct_1", 1)
    assert.equal(listed!.provider, null)
    assert.equal(listed!.ttfb_ms, null)
    assert.equal(listed!.status, 0)
    assert.equal(listed!.usage_source, "estimated")
  })

  it("rounds latencies to the microsecond", () => {
    const records = makeUsageRecords(openNodeStore(":memory:"))
    records.add(record({ latencyMs: 1.23456789, ttfbMs: 0.0004 }))
    const [listed] = records.list("acct_1", 1)
    assert.equal(listed!.latency_ms, 1.235)
    assert.equal(listed!.ttfb_ms, 0)
  })

  it("shares a store with other tables and survives being opened twice", () => {
    const sql = openNodeStore(":memory:")
    makeUsageRecords(sql).add(record({ requestId: "before" }))
    const again = makeUsageRecords(sql)
    again.add(record({ requestId: "after" }))
    assert.deepEqual(again.list("acct_1", 10).map((r) => r.id), ["after", "before"])
  })
})
