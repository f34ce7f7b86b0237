import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { MeasureTable } from "../../bench/table.ts"

describe("bench measure table", () => {
  it("prints a column per runtime, in the order given, whatever order the cells came in", () => {
    const table = new MeasureTable(["node", "bun", "deno"])
    table.cell("throughput (req/s)", "deno", "4000 (15% of direct)", 26000)
    table.cell("throughput (req/s)", "node", "4400 (17% of direct)", 26000)
    const lines = table.markdown().split("\n")
    assert.equal(lines[0], "| measure | direct | node | bun | deno |")
    assert.equal(lines[1], "|---|---|---|---|---|")
    assert.equal(lines[2], "| throughput (req/s) | 26000 | 4400 (17% of direct) |  | 4000 (15% of direct) |")
    assert.equal(lines.length, 3)
  })

  it("shows the range of the direct figures measured beside each runtime, and none for relay-only rows", () => {
    const table = new MeasureTable(["node", "bun"])
    table.direct("mock alone (req/s)", 26183)
    table.cell("added p50 (ms)", "node", "+0.600", 0.148)
    table.cell("added p50 (ms)", "bun", "+0.400", 0.1312)
    table.cell("RSS per stream (KiB)", "node", "30.5 / 9.2")
    assert.deepEqual(table.markdown().split("\n").slice(2), [
      "| mock alone (req/s) | 26183 |  |  |",
      "| added p50 (ms) | 0.131 to 0.148 | +0.600 | +0.400 |",
      "| RSS per stream (KiB) |  | 30.5 / 9.2 |  |"
    ])
  })
})
