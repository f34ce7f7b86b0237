import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { compareTargets, compareYardstickTargets, ownCost, ownCostTable, TARGETS, targetTable, YARDSTICK_TARGETS, yardstickTargetTable } from "../../bench/targets.ts"

describe("bench targets", () => {
  const columns = {
    yardstick: { addedP50: 0.2, addedP99: 1.2, throughputPct: 61 },
    node: { addedP50: 0.5, addedP99: 0.6, throughputPct: 15, firstByteP50: 0.3, rssFirstKiB: 30, rssSteadyKiB: 8.5 }
  }

  it("calls a limit met at or under it, and a floor met at or over it", () => {
    const byTarget = new Map(compareTargets(columns).map((row) => [row.target, row.measured]))
    const p50 = byTarget.get("added latency p50, c=1, full stack: at most 0.250 ms")!
    assert.deepEqual(p50, { yardstick: { value: 0.2, met: true }, node: { value: 0.5, met: false } })
    const p99 = byTarget.get("added latency p99, c=1, full stack: at most 0.600 ms")!
    assert.equal(p99.node!.met, true, "exactly the limit meets it")
    const throughput = byTarget.get("saturation throughput, share of direct: at least 60%")!
    assert.deepEqual(throughput, { yardstick: { value: 61, met: true }, node: { value: 15, met: false } })
    const steady = byTarget.get("RSS per idle open stream, steady state: at most 20.0 KiB")!
    assert.deepEqual(steady, { node: { value: 8.5, met: true } }, "a column without the figure is left out")
  })

  it("prints a row per target with the figure and how far it is from the target", () => {
    const lines = targetTable(columns).split("\n")
    assert.equal(lines[0], "| target | yardstick | node |")
    assert.equal(lines.length, 2 + TARGETS.length)
    assert.equal(lines[2], "| added latency p50, c=1, full stack: at most 0.250 ms | 0.200 ms, met | 0.500 ms, 2.00x the target |")
    assert.equal(lines[4], "| saturation throughput, share of direct: at least 60% | 61%, met | 15%, 0.25x the target |")
    assert.equal(lines[6], "| RSS per idle open stream, first round: at most 20.0 KiB |  | 30.0 KiB, 1.50x the target |")
  })

  it("takes each relay's figures against its own runtime's yardstick, and prints them", () => {
    const figures = {
      "yardstick on bun": { addedP50: 0.125, throughputPct: 64, rssFirstKiB: 4 },
      bun: { addedP50: 0.375, throughputPct: 32, rssFirstKiB: 20.5, firstByteP50: 0.5 },
      binary: { addedP50: 0.25, throughputPct: 48 },
      node: { addedP50: 0.6 }
    }
    // The executable is measured against Bun's yardstick; a relay whose yardstick did not run is left out.
    const own = ownCost(figures, { bun: "yardstick on bun", binary: "yardstick on bun", node: "yardstick on node" })
    assert.deepEqual(own, {
      bun: { addedP50: 0.25, throughputPct: 50, rssFirstKiB: 16.5 },
      binary: { addedP50: 0.125, throughputPct: 75 }
    })
    const lines = ownCostTable(own).split("\n")
    assert.equal(lines[0], "| over its runtime's yardstick | bun | binary |")
    assert.equal(lines.length, 2 + TARGETS.length)
    assert.equal(lines[2], "| added latency p50, c=1, full stack | +0.250 ms | +0.125 ms |")
    assert.equal(lines[4], "| saturation throughput, share of the yardstick's | 50% | 75% |")
    assert.equal(lines[5], "| stream first byte added, p50 |  |  |", "a figure the yardstick lacks is left empty")
    assert.equal(lines[6], "| RSS per idle open stream, first round | +16.5 KiB |  |")
  })

  describe("over each runtime's yardstick", () => {
    const figures = {
      "yardstick on node": { addedP50: 0.3, addedP99: 1, throughputPct: 80, firstByteP50: 0.25, cpuPerChunkUs: 20, rssSteadyKiB: 10, idleRssMiB: 60 },
      node: { addedP50: 0.4, addedP99: 1.6, throughputPct: 60, firstByteP50: 0.3, cpuPerChunkUs: 30, cpuPerTranslatedChunkUs: 60, rssSteadyKiB: 14, idleRssMiB: 120 },
      bun: { addedP50: 0.2 }
    }
    const yardsticks = { node: "yardstick on node", bun: "yardstick on bun" }

    it("sets differences, shares and multiples against the yardstick's figure, and memory alone", () => {
      const rows = new Map(compareYardstickTargets(figures, yardsticks).map((row) => [row.target.split(":")[0], row.measured]))
      assert.equal(rows.size, YARDSTICK_TARGETS.length)
      assert.deepEqual(rows.get("added latency p50, c=1"), { node: { value: 0.1, met: true, ratioToTarget: 1 } }, "exactly the limit over the yardstick meets it")
      assert.deepEqual(rows.get("added latency p99, c=1"), { node: { value: 0.6, met: false, ratioToTarget: 1.2 } })
      assert.deepEqual(rows.get("saturation throughput"), { node: { value: 75, met: true, ratioToTarget: 1.07 } })
      assert.deepEqual(rows.get("CPU per chunk, long stream passed through"), { node: { value: 1.5, met: true, ratioToTarget: 1 } })
      // The translated stream is set against the yardstick's passed-through chunk: the yardstick translates nothing.
      assert.deepEqual(rows.get("CPU per chunk, long stream translated"), { node: { value: 3, met: false, ratioToTarget: 1.2 } })
      assert.deepEqual(rows.get("idle resident memory after start (the limit is Node's)"), { node: { value: 120, met: false, ratioToTarget: 1.2 } })
      assert.deepEqual(rows.get("RSS per idle open stream, steady state"), { node: { value: 4, met: true, ratioToTarget: 1 } })
    })

    it("prints a row per target and a column per relay, empty where a figure is missing", () => {
      const lines = yardstickTargetTable(figures, yardsticks).split("\n")
      assert.equal(lines[0], "| target over its runtime's yardstick | node | bun |")
      assert.equal(lines.length, 2 + YARDSTICK_TARGETS.length)
      assert.equal(lines[3], "| added latency p99, c=1: at most the yardstick's + 0.5 ms | +0.600 ms, 1.20x the target |  |")
      assert.equal(lines[4], "| saturation throughput: at least 70% of the yardstick's | 75%, met |  |")
      assert.equal(lines[7], "| CPU per chunk, long stream translated: at most 2.5x the yardstick's | 3.00x, 1.20x the target |  |")
      assert.equal(lines[8], "| idle resident memory after start (the limit is Node's): at most 100 MiB | 120.0 MiB, 1.20x the target |  |")
    })
  })
})
