/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { nanoUsd } from "./format.ts"

const DAY_MS = 86_400_000
const WIDTH = 640
const HEIGHT = 200
const LEFT = 72
const BOTTOM = 24
const TOP = 12

/** Every day of the last `days` days, today included, with what was spent (0 when nothing). */
export const fillDays = (spend: ReadonlyArray<{ day: string; cost: bigint }>, days: number, now: number) => {
  const byDay = new Map(spend.map((entry) => [entry.day, entry.cost]))
  const today = Math.floor(now / DAY_MS)
  return Array.from({ length: days }, (_, i) => {
    const day = new Date((today - days + 1 + i) * DAY_MS).toISOString().slice(0, 10)
    return { day, cost: byDay.get(day) ?? 0n }
  })
}

/**
 * Spend per day as a bar chart drawn on the server: an SVG with a text alternative, and the
 * same figures in a table for screen readers and for copying. No client script.
 */
export const SpendChart = (props: { days: ReadonlyArray<{ day: string; cost: bigint }> }) => {
  const total = props.days.reduce((sum, entry) => sum + entry.cost, 0n)
  const max = props.days.reduce((most, entry) => (entry.cost > most ? entry.cost : most), 0n)
  const first = props.days[0]?.day ?? ""
  const last = props.days.at(-1)?.day ?? ""
  const plotWidth = WIDTH - LEFT - 8
  const plotHeight = HEIGHT - TOP - BOTTOM
  const slot = plotWidth / Math.max(1, props.days.length)
  const summary = `Spend per day from ${first} to ${last}: ${nanoUsd(total)} in total, at most ${nanoUsd(max)} in a day.`
  return (
    <figure>
      <svg class="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby="spend-title spend-desc">
        <title id="spend-title">Spend over the last {props.days.length} days</title>
        <desc id="spend-desc">{summary}</desc>
        <line class="axis" x1={LEFT} y1={TOP} x2={LEFT} y2={HEIGHT - BOTTOM} />
        <line class="axis" x1={LEFT} y1={HEIGHT - BOTTOM} x2={WIDTH - 8} y2={HEIGHT - BOTTOM} />
        <text x={LEFT - 6} y={TOP + 4} text-anchor="end">{nanoUsd(max)}</text>
        <text x={LEFT - 6} y={HEIGHT - BOTTOM} text-anchor="end">$0</text>
        <text x={LEFT} y={HEIGHT - 6}>{first}</text>
        <text x={WIDTH - 8} y={HEIGHT - 6} text-anchor="end">{last}</text>
        {props.days.map((entry, i) => {
          // Heights in thousandths of the tallest bar: bigint money, scaled without floats.
          const height = max === 0n ? 0 : (Number((entry.cost * 1000n) / max) / 1000) * plotHeight
          return (
            <rect class="bar" x={LEFT + i * slot + 1} y={HEIGHT - BOTTOM - height} width={Math.max(1, slot - 2)} height={height}>
              <title>{`${entry.day}: ${nanoUsd(entry.cost)}`}</title>
            </rect>
          )
        })}
      </svg>
      <figcaption>{summary}</figcaption>
      <details>
        <summary>Spend per day as a table</summary>
        <table>
          <thead>
            <tr><th scope="col">Day (UTC)</th><th scope="col" class="num">Spend</th></tr>
          </thead>
          <tbody>
            {props.days.filter((entry) => entry.cost > 0n).map((entry) => (
              <tr><th scope="row">{entry.day}</th><td class="num">{nanoUsd(entry.cost)}</td></tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  )
}
