import assert from "node:assert/strict"
import { readdirSync, readFileSync } from "node:fs"
import { join, relative } from "node:path"
import { it } from "node:test"
import { ROOT } from "./runtimes.ts"

/**
 * An `assert.ok` without a message that fails makes Node build one from the call's source: it
 * reads the test file and parses it with acorn from token after token. On the TypeScript of a
 * test file that took 20 s of the test process's CPU, once per call site, while the relay's
 * kept-alive connections timed out under it. A check that `eventually` retries fails as a
 * matter of course, so such an assertion there turned a wait of milliseconds into a failed
 * run now and then (one run in five of admin-keys on a delayed store). Each names itself.
 */

const testFiles = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return entry.name === "node_modules" || entry.name === "clients" ? [] : testFiles(path)
    return entry.name.endsWith(".ts") ? [path] : []
  })

const QUOTES = "\"'`"

/** The index of the quote closing the string that opens at `open`. */
const closingQuote = (source: string, open: number): number => {
  for (let i = open + 1; i < source.length; i++) {
    if (source[i] === "\\") i++
    else if (source[i] === source[open]) return i
  }
  return source.length
}

/** The index of the bracket closing the one at `open`, past strings (enough for these files). */
const closing = (source: string, open: number): number => {
  let depth = 0
  for (let i = open; i < source.length; i++) {
    const char = source[i]!
    if (QUOTES.includes(char)) i = closingQuote(source, i)
    else if ("([{".includes(char)) depth++
    else if (")]}".includes(char) && --depth === 0) return i
  }
  return source.length
}

/** Whether the call whose argument list opens at `open` is given a second argument. */
const hasSecondArgument = (source: string, open: number): boolean => {
  const close = closing(source, open)
  for (let i = open + 1; i < close; i++) {
    const char = source[i]!
    if (QUOTES.includes(char)) i = closingQuote(source, i)
    else if ("([{".includes(char)) i = closing(source, i)
    else if (char === ",") return true
  }
  return false
}

it("every assert.ok in a check that eventually retries has a message", () => {
  const bare: Array<string> = []
  for (const file of testFiles(join(ROOT, "test"))) {
    const source = readFileSync(file, "utf8")
    for (const retried of source.matchAll(/\beventually(?:<[^>]*>)?\(/g)) {
      const open = retried.index + retried[0].length - 1
      const body = source.slice(open, closing(source, open))
      for (const check of body.matchAll(/\bassert(?:\.ok)?\(/g)) {
        const at = open + check.index + check[0].length - 1
        if (!hasSecondArgument(source, at)) {
          bare.push(`${relative(ROOT, file)}:${source.slice(0, at).split("\n").length}`)
        }
      }
    }
  }
  assert.deepEqual(bare, [], "give these assertions a message")
})
