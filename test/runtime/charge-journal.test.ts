import assert from "node:assert/strict"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, describe, it } from "node:test"
import { storeRefusal } from "../../core/index.ts"
import { openChargeJournal } from "../../runtime/charge-journal.ts"
import { chargeJournalContract } from "../ports/charge-journal.contract.ts"
import { memoryChargeJournal } from "../ports/memory.ts"

const dir = mkdtempSync(join(tmpdir(), "relay-journal-"))
after(() => rmSync(dir, { recursive: true, force: true }))
let files = 0

for (const [kind, open] of [["file", () => openChargeJournal(join(dir, `j${files++}.charges`))], ["in memory", memoryChargeJournal]] as const) {
  describe(`ChargeJournal port (${kind})`, () => {
    for (const contractCase of chargeJournalContract(open)) it(contractCase.name, contractCase.run)
  })
}

describe("the charge journal file", () => {
  it("is readable by its owner only, and what was appended is there for the next process", () => {
    const path = join(dir, "reopened.charges")
    openChargeJournal(path).append("entry\n")
    assert.equal(statSync(path).mode & 0o777, 0o600)
    assert.equal(openChargeJournal(path).read(), "entry\n")
  })

  it("a write the disk refuses throws in the words of the store's health", () => {
    const journal = openChargeJournal("/dev/full")
    assert.throws(() => journal.append("entry\n"), (error: unknown) => storeRefusal(error) === "the disk is full")
  })
})
