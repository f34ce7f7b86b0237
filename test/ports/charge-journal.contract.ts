import assert from "node:assert/strict"
import type { ChargeJournalShape } from "../../core/index.ts"

/** What the ledger relies on from a charge journal: appends kept in order until cleared. */
export const chargeJournalContract = (open: () => ChargeJournalShape) => [
  {
    name: "a new journal holds nothing",
    run: () => assert.equal(open().read(), "")
  },
  {
    name: "appends are kept whole and in order",
    run: () => {
      const journal = open()
      journal.append("one\n")
      journal.append("two\nthree\n")
      assert.equal(journal.read(), "one\ntwo\nthree\n")
    }
  },
  {
    name: "clear empties it, and appends after it start from nothing",
    run: () => {
      const journal = open()
      journal.append("old\n")
      journal.clear()
      assert.equal(journal.read(), "")
      journal.append("new\n")
      assert.equal(journal.read(), "new\n")
    }
  }
]
