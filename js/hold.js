// The hold of the offline replica's push (docs/replica.md "A held write waits for its time",
// "The hold outlives its tab"): a write the server answered "not now" waits max(backoff,
// Retry-After), kept in meta so the tab that leads next waits too; js/push.js sends, this
// file decides when. (Split from js/push.js to keep files short.)
import { errorOf } from "./outbox.js";
import { RETRY_AFTER_MAX_MS, backoffDelay } from "./push.js";

// The hold is kept in meta (`hold`: { seq, until (ms since the epoch, this device's clock),
// failures, held }) while it lasts, so the tab that leads next (this one closed) waits until
// `until` too instead of sending the held write at once (issue 15). Written when a write is
// held, deleted once a push gets past it or it is dropped; `restoreHold` reads it.
const HOLD_KEY = "hold";

// A push under way is marked in meta (`sending` = { seq, failures }: its first entry sent, the
// backoff count then) before its first request, and unmarked once its outcome is kept (the hold
// row written or deleted: `sendDone`). A leader closed in between (its request on the way, or
// the server's "not now" not yet kept) leaves the mark: the tab that leads next waits one
// backoff step before sending again (`restoreHold`), not at once.
export const SENDING_KEY = "sending";

/** The push's outcome is kept (hold written or removed): its `sending` mark goes. */
export async function sendDone(e) {
  if (!e.sendingMarked) return;
  e.sendingMarked = false;
  await e.store.set({ [SENDING_KEY]: undefined }).catch(() => { e.sendingMarked = true; });
}

/**
 * The push stopped at a write the server answered "not now" (`result.held`, its entry
 * `result.heldEntry`): no push before max(backoff, its Retry-After), then the timer sends it.
 */
export async function hold(e, result) {
  // A sync whose answer came after close() arms nothing (no timer keeps a closed engine alive).
  if (e.closed) return;
  const err = errorOf(result.held);
  e.holdFailures++;
  const asked = typeof err.retryAfter === "number" ? Math.min(err.retryAfter, RETRY_AFTER_MAX_MS) : 0;
  const x = result.heldEntry;
  // What the server said (its coded body: js/remote.js `server` behind a NETWORK, or the
  // coded error itself), else the client's own description of the answer.
  // Shown as data, bounded (it goes to every tab at each state change).
  const said = err.server ?? err;
  const details = said.details ?? null;
  const until = Date.now() + Math.max(backoffDelay(e.holdFailures), asked);
  armHold(e, until, {
    seq: x?.seq ?? null, endpoint: x?.endpoint ?? null, id: x ? x.target ?? x.id ?? x.args?.id ?? null : null,
    status: typeof err.status === "number" ? err.status : null,
    error: { code: String(said.code).slice(0, 64), message: String(said.message ?? "").slice(0, 1000), details: JSON.stringify(details).length <= 4096 ? details : null },
    retryAt: new Date(until).toISOString(),
  });
  e.holdStored = true;
  // Not kept (quota, a closing database): this tab's hold still stands; a next leader sends at once.
  await e.store.set({ [HOLD_KEY]: { seq: e.held.seq, until, failures: e.holdFailures, held: e.held } }).catch(() => {});
}

/** No push before `until` (ms) but the app's own; the timer sends the held write then. */
function armHold(e, until, held) {
  e.holdUntil = until;
  e.held = held;
  clearTimeout(e.holdTimer);
  e.holdTimer = setTimeout(() => {
    e.holdTimer = null;
    e.holdUntil = 0;
    e.kick();
  }, Math.max(0, until - Date.now()));
  e.stateDirty = true;
}

/**
 * A new leader takes over the hold the previous one kept (meta `hold`), if its write is still
 * queued: no push before its `until` (cut at RETRY_AFTER_MAX_MS from now: a row from a clock
 * set back, or not this code's, never holds the outbox longer), its backoff count going on.
 * Any other row is deleted.
 */
export async function restoreHold(e) {
  const row = await e.store.get(HOLD_KEY);
  const sending = await e.store.get(SENDING_KEY);
  if (row === undefined && sending === undefined) return;
  const queued = (await e.store.list()).sort((a, b) => a.seq - b.seq);
  if (row !== undefined) {
    e.holdStored = true;
    const seq = row?.seq;
    const ok = Number.isInteger(seq) && Number.isFinite(row.until) && row.held && typeof row.held === "object"
      && queued.some((x) => x.seq === seq);
    if (e.closed) return;
    if (!ok) await unhold(e);
    else {
      const until = Math.min(row.until, Date.now() + RETRY_AFTER_MAX_MS);
      e.holdFailures = Number.isInteger(row.failures) && row.failures > 0 ? Math.min(row.failures, 64) : 1;
      armHold(e, until, { ...row.held, seq, retryAt: new Date(until).toISOString() });
    }
  }
  if (sending === undefined || e.closed) return;
  // The previous leader closed mid-push (SENDING_KEY): its first entry still queued waits one
  // more backoff step, unless a kept hold already waits longer. This tab's next push unmarks.
  e.sendingMarked = true;
  const next = queued.find((x) => x.seq >= (Number.isInteger(sending?.seq) ? sending.seq : 0));
  if (!next) return;
  const failures = Math.min(64, (e.holdFailures || (Number.isInteger(sending?.failures) ? sending.failures : 0)) + 1);
  const until = Date.now() + backoffDelay(failures);
  if (until <= e.holdUntil) return;
  e.holdFailures = failures;
  armHold(e, until, {
    seq: next.seq, endpoint: next.endpoint, id: next.target ?? next.id ?? next.args?.id ?? null, status: null,
    error: { code: "NETWORK", message: "the tab that was sending the outbox closed before the server's answer was kept", details: null },
    retryAt: new Date(until).toISOString(),
  });
}

/** A push went past every held write (or there is none any more): pushes go at once again. */
export async function unhold(e) {
  e.holdUntil = 0;
  e.holdFailures = 0;
  clearTimeout(e.holdTimer);
  e.holdTimer = null;
  if (e.held) {
    e.held = null;
    e.stateDirty = true;
  }
  if (e.holdStored) {
    e.holdStored = false;
    await e.store.set({ [HOLD_KEY]: undefined }).catch(() => { e.holdStored = true; });
  }
}
