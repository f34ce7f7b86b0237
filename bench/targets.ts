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
  /** CPU time per chunk of a long stream passed through, and translated (µs). */
  readonly cpuPerChunkUs?: number
  readonly cpuPerTranslatedChunkUs?: number
  /** Resident memory once started, before any request (MiB). */
  readonly idleRssMiB?: number
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

/**
 * The targets of the hot path at its runtime's floor: each relay's figure against the
 * yardstick of its own runtime, so that what the hop costs on the machine drops out. `over`
 * is a difference at most `limit`, `share` a percentage of the yardstick's at least `limit`,
 * `times` a multiple of the yardstick's `base` figure at most `limit`, and `alone` the relay's
 * own figure at most `limit`.
 */
interface YardstickTarget {
  readonly name: string
  readonly figure: keyof Figures
  readonly compare: "over" | "share" | "times" | "alone"
  /** The yardstick's figure it is set against, when not `figure` itself. */
  readonly base?: keyof Figures
  readonly limit: number
  readonly unit: "ms" | "%" | "KiB" | "MiB" | "x"
}

export const YARDSTICK_TARGETS: ReadonlyArray<YardstickTarget> = [
  { name: "added latency p50, c=1", figure: "addedP50", compare: "over", limit: 0.1, unit: "ms" },
  { name: "added latency p99, c=1", figure: "addedP99", compare: "over", limit: 0.5, unit: "ms" },
  { name: "saturation throughput", figure: "throughputPct", compare: "share", limit: 70, unit: "%" },
  { name: "stream first byte added, p50", figure: "firstByteP50", compare: "over", limit: 0.1, unit: "ms" },
  { name: "CPU per chunk, long stream passed through", figure: "cpuPerChunkUs", compare: "times", limit: 1.5, unit: "x" },
  { name: "CPU per chunk, long stream translated", figure: "cpuPerTranslatedChunkUs", base: "cpuPerChunkUs", compare: "times", limit: 2.5, unit: "x" },
  { name: "idle resident memory after start (the limit is Node's)", figure: "idleRssMiB", compare: "alone", limit: 100, unit: "MiB" },
  { name: "RSS per idle open stream, steady state", figure: "rssSteadyKiB", compare: "over", limit: 4, unit: "KiB" }
]

const limitText = ({ compare, limit, unit }: YardstickTarget) => {
  const amount = unit === "x" ? `${limit}x` : unit === "%" ? `${limit}%` : `${limit} ${unit}`
  switch (compare) {
    case "over":
      return `at most the yardstick's + ${amount}`
    case "share":
      return `at least ${amount} of the yardstick's`
    case "times":
      return `at most ${amount} the yardstick's`
    case "alone":
      return `at most ${amount}`
  }
}

/** The relay's figure as the target reads it, or undefined when it or the yardstick's is missing. */
const against = (target: YardstickTarget, mine: Figures, yardstick: Figures): number | undefined => {
  const value = mine[target.figure]
  if (value === undefined) return undefined
  if (target.compare === "alone") return value
  const reference = yardstick[target.base ?? target.figure]
  if (reference === undefined) return undefined
  // Rounded off below any figure's precision, so that a difference exactly at the limit meets it.
  const result = target.compare === "over" ? value - reference : target.compare === "share" ? (100 * value) / reference : value / reference
  return Number(result.toFixed(9))
}

const metYardstick = (target: YardstickTarget, value: number) => (target.compare === "share" ? value >= target.limit : value <= target.limit)

const shownAgainst = ({ compare, unit }: YardstickTarget, value: number) =>
  unit === "x" ? `${value.toFixed(2)}x` : unit === "%" ? `${Math.round(value)}%` : `${compare === "over" && value >= 0 ? "+" : ""}${value.toFixed(unit === "ms" ? 3 : 1)} ${unit}`

/** Each yardstick target against each relay (`yardstickOf` names its yardstick's column), as JSON. */
export const compareYardstickTargets = (columns: Readonly<Record<string, Figures>>, yardstickOf: Readonly<Record<string, string>>) =>
  YARDSTICK_TARGETS.map((target) => ({
    target: `${target.name}: ${limitText(target)}`,
    measured: Object.fromEntries(
      Object.entries(yardstickOf).flatMap(([relay, yardstick]) => {
        const value = against(target, columns[relay] ?? {}, columns[yardstick] ?? {})
        if (value === undefined) return []
        return [[relay, { value: Number(value.toFixed(3)), met: metYardstick(target, value), ratioToTarget: Number((value / target.limit).toFixed(2)) }]]
      })
    )
  }))

/** The same as a markdown table: a row per target, a column per relay, how far off as a ratio to the target. */
export const yardstickTargetTable = (columns: Readonly<Record<string, Figures>>, yardstickOf: Readonly<Record<string, string>>): string => {
  const relays = Object.keys(yardstickOf)
  const rows = YARDSTICK_TARGETS.map((target) => [
    `${target.name}: ${limitText(target)}`,
    ...relays.map((relay) => {
      const value = against(target, columns[relay] ?? {}, columns[yardstickOf[relay]!] ?? {})
      if (value === undefined) return ""
      return `${shownAgainst(target, value)}, ${metYardstick(target, value) ? "met" : `${(value / target.limit).toFixed(2)}x the target`}`
    })
  ])
  return markdownTable(["target over its runtime's yardstick", ...relays], rows)
}
