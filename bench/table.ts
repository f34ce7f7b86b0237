/**
 * The run's measures as one markdown table: a row per measure, the direct figure, then a column
 * per runtime. Paired measures (direct and relayed requests alternating) are taken again with
 * each runtime's relay, so their direct column shows the range of those direct figures.
 */
export class MeasureTable {
  private readonly rows = new Map<string, { readonly direct: Array<number>; readonly cells: Map<string, string> }>()

  constructor(private readonly columns: ReadonlyArray<string>) {}

  private row(measure: string) {
    let row = this.rows.get(measure)
    if (row === undefined) {
      row = { direct: [], cells: new Map() }
      this.rows.set(measure, row)
    }
    return row
  }

  /** A measure of the mock alone: its direct figure, no relay. */
  direct(measure: string, value: number): void {
    this.row(measure).direct.push(value)
  }

  /** `column`'s figure for `measure`, with the direct figure it was measured beside, if any. */
  cell(measure: string, column: string, text: string, direct?: number): void {
    const row = this.row(measure)
    row.cells.set(column, text)
    if (direct !== undefined) row.direct.push(direct)
  }

  markdown(): string {
    const rows = [...this.rows].map(([measure, { direct, cells }]) => [measure, range(direct), ...this.columns.map((column) => cells.get(column) ?? "")])
    return markdownTable(["measure", "direct", ...this.columns], rows)
  }
}

const line = (cells: ReadonlyArray<string>) => `| ${cells.join(" | ")} |`

/** A markdown table: the header's cells, then a line per row. */
export const markdownTable = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  [line(head), `|${head.map(() => "---|").join("")}`, ...rows.map(line)].join("\n")

const figure = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(3))

/** "" for none, the figure when all agree, else "lowest to highest". */
const range = (values: ReadonlyArray<number>): string => {
  if (values.length === 0) return ""
  const [low, high] = [figure(Math.min(...values)), figure(Math.max(...values))]
  return low === high ? low : `${low} to ${high}`
}
