import { execFileSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fixtureOnEachRuntime } from "../helpers/runtime-fixtures.ts"

// A mebibyte into a pipe that holds 64 KiB: the writes past it are refused at once instead of
// blocking the process (which would end the run by the helper's timeout).
const fifo = join(mkdtempSync(join(tmpdir(), "log-pipe-")), "log.fifo")
execFileSync("mkfifo", [fifo])
process.env.RELAY_TEST_FIFO = fifo

fixtureOnEachRuntime(
  "a log pipe nobody reads takes what it holds and refuses the rest without blocking",
  "test/fixtures/pipe-without-waiting.ts",
  () => /taken 65536 of 1048576, refused 96\d/
)
