import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { dayOf, modelAllowed, periodStartDay } from "../../core/index.ts"

const day = (iso: string) => dayOf(Date.parse(iso))

describe("key rules: spend periods in UTC and model lists", () => {
  it("starts a day, an ISO week and a month at their first UTC day, to the millisecond", () => {
    assert.equal(periodStartDay("day", Date.parse("2026-03-04T23:59:59.999Z")), day("2026-03-04T00:00:00Z"))
    assert.equal(periodStartDay("day", Date.parse("2026-03-05T00:00:00.000Z")), day("2026-03-05T00:00:00Z"))
    // 2026-03-01 is a Sunday: its week began on Monday 2026-02-23; Monday 2026-03-02 starts the next.
    assert.equal(periodStartDay("week", Date.parse("2026-03-01T23:59:59.999Z")), day("2026-02-23T00:00:00Z"))
    assert.equal(periodStartDay("week", Date.parse("2026-03-02T00:00:00.000Z")), day("2026-03-02T00:00:00Z"))
    assert.equal(periodStartDay("week", Date.parse("1970-01-01T12:00:00Z")), -3, "the epoch's Thursday belongs to the week from Monday 1969-12-29")
    assert.equal(periodStartDay("month", Date.parse("2026-02-28T23:59:59.999Z")), day("2026-02-01T00:00:00Z"))
    assert.equal(periodStartDay("month", Date.parse("2026-03-01T00:00:00.000Z")), day("2026-03-01T00:00:00Z"))
    assert.equal(periodStartDay("month", Date.parse("2028-02-29T10:00:00Z")), day("2028-02-01T00:00:00Z"))
    assert.equal(periodStartDay("month", Date.parse("2026-12-31T23:59:59.999Z")), day("2026-12-01T00:00:00Z"))
    assert.equal(periodStartDay(null, Date.now()), 0, "a lifetime limit counts every day")
  })

  it("allows ids and globs of a model list, and every model without one", () => {
    const models = ["gpt-4o-mini", "claude-*", "gemini-2.5-*-lite"]
    assert.ok(modelAllowed(models, "gpt-4o-mini"))
    assert.ok(modelAllowed(models, "claude-haiku-4-5"))
    assert.ok(modelAllowed(models, "gemini-2.5-flash-lite"))
    assert.ok(!modelAllowed(models, "gpt-4o"), "an id matches whole")
    assert.ok(!modelAllowed(models, "gpt-4o-mini-2024"))
    assert.ok(!modelAllowed(models, "my-claude-x"), "a glob is anchored")
    assert.ok(!modelAllowed(["gpt.4"], "gpt-4"), "a dot is a dot")
    assert.ok(modelAllowed(null, "anything"))
  })
})
