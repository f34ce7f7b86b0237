import assert from "node:assert/strict"
import { describe, it } from "node:test"
import { Sessions } from "../../plugins/console/sessions.ts"

const HERE = "192.0.2.1"

const make = (maxSessions = 3, maxSignedOutPerAddress = 100) => {
  let now = 1_000_000
  const sessions = new Sessions({ ttlMs: 10_000, anonymousTtlMs: 1_000, maxSessions, maxSignedOutPerAddress, now: () => now })
  return { sessions, advance: (ms: number) => void (now += ms) }
}

describe("console sessions", () => {
  it("gives each session a fresh random id and CSRF token", () => {
    const { sessions } = make()
    const a = sessions.create(undefined, HERE)
    const b = sessions.create({ kind: "admin" }, HERE)
    assert.match(a.id, /^[0-9A-Za-z]{32}$/)
    assert.notEqual(a.id, b.id)
    assert.notEqual(a.csrf, b.csrf)
    assert.notEqual(a.id, a.csrf)
    assert.equal(sessions.get(b.id), b)
  })

  it("expires signed-out sessions sooner than signed-in ones", () => {
    const { sessions, advance } = make()
    const anonymous = sessions.create(undefined, HERE)
    const user = sessions.create({ kind: "user", accountId: "acct_1", keyId: "key_1" }, HERE)
    advance(1_000)
    assert.equal(sessions.get(anonymous.id), undefined)
    assert.equal(sessions.get(user.id), user)
    advance(9_000)
    assert.equal(sessions.get(user.id), undefined)
  })

  it("never lets a flood of visits push out a signed-in session", () => {
    const { sessions } = make(3)
    const admin = sessions.create({ kind: "admin" }, HERE)
    const visits = Array.from({ length: 50 }, () => sessions.create(undefined, HERE))
    assert.equal(sessions.get(admin.id), admin)
    assert.equal(sessions.get(visits[0]!.id), undefined, "the oldest visits go first")
    assert.equal(sessions.get(visits.at(-1)!.id), visits.at(-1))
  })

  it("lets a flood of visits from one address push out only that address's own sign-in forms", () => {
    const { sessions } = make(10_000, 32)
    const others = ["198.51.100.7", "203.0.113.9"].map((address) => sessions.create(undefined, address))
    const flood = Array.from({ length: 10_050 }, () => sessions.create(undefined, HERE))
    for (const visitor of others) assert.equal(sessions.get(visitor.id), visitor, "another visitor's form still signs in")
    assert.equal(flood.filter((visit) => sessions.get(visit.id) !== undefined).length, 32)
    assert.equal(sessions.get(flood.at(-1)!.id), flood.at(-1))
  })

  it("hands a flash out once, and forgets a deleted session", () => {
    const { sessions } = make()
    const session = sessions.create(undefined, HERE, { notice: "hello" })
    assert.deepEqual(sessions.takeFlash(session), { notice: "hello" })
    assert.equal(sessions.takeFlash(session), undefined)
    sessions.delete(session.id)
    assert.equal(sessions.get(session.id), undefined)
  })
})
