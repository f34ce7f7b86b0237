import { markdownTable } from "./table.ts"

/**
 * The performance targets the relay is held to, and how one run's figures compare with them.
 * Latency and memory targets are limits (at most); throughput is a floor (at least). The
 * yardstick's columns show what the extra hop alone allows on the machine of the run.
 */
export interface Figures {
  /** Added latency over calling the mock directly, concurrency 1 (ms). */
  readonly addedP50?: number
  readonly addedP99?: number
  /** Saturation throughput as a share of calling the mock directly (%). */
  readonly throughputPct?: number
  /** Added time to a stream's first byte, p50 (ms). */
  readonly firstByteP50?: number
  /** Resident memory per idle open stream (KiB): the first round, and the steady state. */
  readonly rssFirstKiB?: number
  readonly rssSteadyKiB?: number
}

interface PerformanceTarget {
  readonly name: string
  /** The measure's name over the yardstick, where it reads differently (a share of its rate). */
  readonly ownName?: string
  readonly figure: keyof Figures
  readonly kind: "at most" | "at least"
  readonly limit: number
  readonly unit: "ms" | "%" | "KiB"
}

export const TARGETS: ReadonlyArray<PerformanceTarget> = [
  { name: "added latency p50, c=1, full stack", figure: "addedP50", kind: "at most", limit: 0.25, unit: "ms" },
  { name: "added latency p99, c=1, full stack", figure: "addedP99", kind: "at most", limit: 0.6, unit: "ms" },
  { name: "saturation throughput, share of direct", ownName: "saturation throughput, share of the yardstick's", figure: "throughputPct", kind: "at least", limit: 60, unit: "%" },
  { name: "stream first byte added, p50", figure: "firstByteP50", kind: "at most", limit: 0.3, unit: "ms" },
  { name: "RSS per idle open stream, first round", figure: "rssFirstKiB", kind: "at most", limit: 20, unit: "KiB" },
  { name: "RSS per idle open stream, steady state", figure: "rssSteadyKiB", kind: "at most", limit: 20, unit: "KiB" }
]

const shown = (value: number, unit: PerformanceTarget["unit"]) =>
  unit === "ms" ? `${value.toFixed(3)} ms` : unit === "%" ? `${Math.round(value)}%` : `${value.toFixed(1)} KiB`

const meets = (target: PerformanceTarget, value: number) => (target.kind === "at most" ? value <= target.limit : value >= target.limit)

/** A figure against its target: "met", or how far off as a ratio to the target. */
const verdict = (target: PerformanceTarget, value: number): string =>
  `${shown(value, target.unit)}, ${meets(target, value) ? "met" : `${(value / target.limit).toFixed(2)}x the target`}`

/** Each target against each column's figures, as JSON. */
export const compareTargets = (columns: Readonly<Record<string, Figures>>) =>
  TARGETS.map((target) => ({
    target: `${target.name}: ${target.kind} ${shown(target.limit, target.unit)}`,
    measured: Object.fromEntries(
      Object.entries(columns).flatMap(([column, figures]) => {
        const value = figures[target.figure]
        if (value === undefined) return []
        return [[column, { value: Number(value.toFixed(3)), met: meets(target, value) }]]
      })
    )
  }))

/** The same as a markdown table: a row per target, a column per stack measured. */
export const targetTable = (columns: Readonly<Record<string, Figures>>): string => {
  const names = Object.keys(columns)
  const rows = TARGETS.map((target) => [
    `${target.name}: ${target.kind} ${shown(target.limit, target.unit)}`,
    ...names.map((name) => {
      const value = columns[name]![target.figure]
      return value === undefined ? "" : verdict(target, value)
    })
  ])
  return markdownTable(["target", ...names], rows)
}

/**
 * What each relay adds over the yardstick of its own runtime: the relay's figure minus the
 * yardstick's, and for throughput the relay's rate as a share of the yardstick's. What the
 * hop itself costs on the machine is in both figures, so it drops out: this is the part the
 * relay's code controls. `yardstickOf` names each relay column's yardstick column.
 */
export const ownCost = (columns: Readonly<Record<string, Figures>>, yardstickOf: Readonly<Record<string, string>>) =>
  Object.fromEntries(
    Object.entries(yardstickOf).flatMap(([relay, yardstick]) => {
      const [mine, base] = [columns[relay], columns[yardstick]]
      if (mine === undefined || base === undefined) return []
      const own: Partial<Record<keyof Figures, number>> = {}
      for (const { figure, unit } of TARGETS) {
        const [value, reference] = [mine[figure], base[figure]]
        if (value === undefined || reference === undefined) continue
        own[figure] = Number((unit === "%" ? (100 * value) / reference : value - reference).toFixed(3))
      }
      return [[relay, own]]
    })
  )

const shownOwn = (value: number, unit: PerformanceTarget["unit"]) =>
  unit === "%" ? `${Math.round(value)}%` : `${value < 0 ? "" : "+"}${unit === "ms" ? value.toFixed(3) : value.toFixed(1)} ${unit}`

/** `ownCost`'s figures as a markdown table: a row per target's measure, a column per relay. */
export const ownCostTable = (own: ReturnType<typeof ownCost>): string => {
  const names = Object.keys(own)
  const rows = TARGETS.map(({ name, ownName, figure, unit }) => [
    ownName ?? name,
    ...names.map((relay) => {
      const value = own[relay]![figure]
      return value === undefined ? "" : shownOwn(value, unit)
    })
  ])
  return markdownTable(["over its runtime's yardstick", ...names], rows)
}
