import { formatUsd } from "../../core/index.ts"

/**
 * A small Prometheus registry: counters, gauges and histograms with fixed label names, written
 * in the text exposition format (version 0.0.4). The relay needs no more than this, and a
 * client library would bring its own process metrics and global state.
 */

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

const labelText = (names: ReadonlyArray<string>, values: ReadonlyArray<string>, extra = ""): string => {
  const pairs = names.map((name, i) => `${name}="${escapeLabel(values[i]!)}"`)
  if (extra !== "") pairs.push(extra)
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`
}

/** One metric family: its series keyed by their label values, in the order first seen. */
abstract class Family<L extends string, S> {
  protected readonly series = new Map<string, { readonly values: ReadonlyArray<string>; state: S }>()

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly type: "counter" | "gauge" | "histogram",
    protected readonly labelNames: ReadonlyArray<L>
  ) {}

  protected abstract initial(): S
  protected abstract sampleLines(values: ReadonlyArray<string>, state: S): Array<string>

  protected entry(labels: Readonly<Record<L, string>>) {
    const values = this.labelNames.map((name) => labels[name])
    const key = values.join("\u0000")
    let entry = this.series.get(key)
    if (entry === undefined) {
      entry = { values, state: this.initial() }
      this.series.set(key, entry)
    }
    return entry
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`]
    for (const { values, state } of this.series.values()) lines.push(...this.sampleLines(values, state))
    return lines.join("\n")
  }
}

export class Counter<L extends string> extends Family<L, number> {
  constructor(name: string, help: string, labelNames: ReadonlyArray<L>) {
    super(name, help, "counter", labelNames)
  }
  protected initial() {
    return 0
  }
  protected sampleLines(values: ReadonlyArray<string>, state: number) {
    return [`${this.name}${labelText(this.labelNames, values)} ${state}`]
  }
  inc(labels: Readonly<Record<L, string>>, amount = 1): void {
    this.entry(labels).state += amount
  }
}

/** A counter of money, kept in exact nano-USD and written as a decimal USD amount. */
export class UsdCounter<L extends string> extends Family<L, bigint> {
  constructor(name: string, help: string, labelNames: ReadonlyArray<L>) {
    super(name, help, "counter", labelNames)
  }
  protected initial() {
    return 0n
  }
  protected sampleLines(values: ReadonlyArray<string>, state: bigint) {
    return [`${this.name}${labelText(this.labelNames, values)} ${formatUsd(state)}`]
  }
  add(labels: Readonly<Record<L, string>>, nano: bigint): void {
    this.entry(labels).state += nano
  }
}

export class Gauge<L extends string> extends Family<L, number> {
  constructor(name: string, help: string, labelNames: ReadonlyArray<L>) {
    super(name, help, "gauge", labelNames)
    // A gauge without labels has its one value from the start: 0 is a reading, not a gap.
    if (labelNames.length === 0) this.entry({} as Readonly<Record<L, string>>)
  }
  protected initial() {
    return 0
  }
  protected sampleLines(values: ReadonlyArray<string>, state: number) {
    return [`${this.name}${labelText(this.labelNames, values)} ${state}`]
  }
  add(labels: Readonly<Record<L, string>>, amount: number): void {
    this.entry(labels).state += amount
  }
}

interface HistogramState {
  /** Observations per bucket, not cumulative; the last slot is above every bound. */
  readonly counts: Array<number>
  sum: number
}

export class Histogram<L extends string> extends Family<L, HistogramState> {
  constructor(name: string, help: string, labelNames: ReadonlyArray<L>, private readonly bounds: ReadonlyArray<number>) {
    super(name, help, "histogram", labelNames)
  }
  protected initial(): HistogramState {
    return { counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0 }
  }
  protected sampleLines(values: ReadonlyArray<string>, state: HistogramState) {
    const lines: Array<string> = []
    let cumulative = 0
    this.bounds.forEach((bound, i) => {
      cumulative += state.counts[i]!
      lines.push(`${this.name}_bucket${labelText(this.labelNames, values, `le="${bound}"`)} ${cumulative}`)
    })
    cumulative += state.counts[this.bounds.length]!
    lines.push(`${this.name}_bucket${labelText(this.labelNames, values, "le=\"+Inf\"")} ${cumulative}`)
    lines.push(`${this.name}_sum${labelText(this.labelNames, values)} ${state.sum}`)
    lines.push(`${this.name}_count${labelText(this.labelNames, values)} ${cumulative}`)
    return lines
  }
  observe(labels: Readonly<Record<L, string>>, value: number): void {
    const state = this.entry(labels).state
    const index = this.bounds.findIndex((bound) => value <= bound)
    state.counts[index === -1 ? this.bounds.length : index]!++
    state.sum += value
  }
}

/** The families of one relay, written in the order they were made. */
export class Registry {
  private readonly families: Array<{ render(): string }> = []

  add<F extends { render(): string }>(family: F): F {
    this.families.push(family)
    return family
  }

  render(): string {
    return `${this.families.map((family) => family.render()).join("\n")}\n`
  }
}
