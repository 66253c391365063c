// ---- Types of workflow-templates (included verbatim into workflow_templates.d.ts) ----------
// Records use the schema's snake_case column names; option objects and methods are camelCase.
// This text is a typescript_custom_section: only declarations (no values); it must compile
// under `tsc --strict` without skipLibCheck and without the DOM lib (no RequestInfo, Response,
// BufferSource or WebAssembly types; scripts/package.mjs drops wasm-bindgen's init types and
// `[Symbol.dispose]` for the same reason).

/** Any JSON value. Numbers are finite and within +-(2^53-1); strings are well-formed UTF-16. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What a workflow needs at run time. */
export type WorkflowType = "plain" | "tools" | "rag" | "full";

/** Template categories; `custom` is the default. */
export type TemplateCategory =
  | "general"
  | "customer_support"
  | "programming"
  | "research"
  | "data_analysis"
  | "creative"
  | "educational"
  | "business"
  | "custom";

/** A row of `workflow_templates`, as returned by the catalog and `builtinTemplates()`. */
export interface WorkflowTemplate {
  /** ULID, 26 characters, uppercase. */
  id: string;
  /** RFC 3339 UTC with milliseconds, e.g. `2026-11-25T18:40:17.123Z`. */
  created_at: string;
  updated_at: string;
  /** ULID of the owner; `00000000000000000000000000` for built-ins. */
  owner_id: string;
  name: string;
  description: string;
  workflow_type: WorkflowType;
  category: TemplateCategory;
  default_params: Record<string, JsonValue>;
  required_tools: string[] | null;
  required_retrievers: string[] | null;
  base_template_id: string | null;
  is_builtin: boolean;
  /** 1 for the first version. */
  version: number;
  is_latest: boolean;
  changelog: string | null;
  is_public: boolean;
  /** 0.0..=5.0; null exactly when `rating_count` is 0. */
  rating: number | null;
  rating_count: number;
  usage_count: number;
  /** 0.0..=1.0 */
  success_rate: number | null;
  avg_response_time_ms: number | null;
  last_used_at: string | null;
  /** Integer in 0..=2^53-1 (a JS number, never a BigInt). */
  total_tokens_used: number;
  total_cost: number;
  avg_tokens_per_use: number | null;
  tags: string[] | null;
  extra_metadata: Record<string, JsonValue> | null;
  /** 64 lowercase hex characters: SHA-256 of the RFC 8785 form of the configuration. */
  config_hash: string;
  estimated_complexity: number | null;
}

/** A row of `template_specs`: a lightweight recipe that `instantiateSpec` turns into a template. */
export interface TemplateSpec {
  id: string;
  created_at: string;
  updated_at: string;
  owner_id: string;
  name: string;
  description: string;
  workflow_type: WorkflowType;
  default_params: Record<string, JsonValue>;
  required_tools: string[] | null;
  required_retrievers: string[] | null;
  /** Resolved at instantiation: the user's own latest template of that name, else a built-in, else the single public one. */
  base_template_name: string | null;
  usage_count: number;
  last_used_at: string | null;
  tags: string[] | null;
  extra_metadata: Record<string, JsonValue> | null;
}

/** The fields `create` takes; everything else is maintained by the catalog (`READ_ONLY`). */
export interface TemplateDraft {
  name: string;
  description?: string;
  workflow_type: WorkflowType;
  category?: TemplateCategory;
  default_params?: Record<string, JsonValue>;
  required_tools?: string[] | null;
  required_retrievers?: string[] | null;
  base_template_id?: string | null;
  changelog?: string | null;
  is_public?: boolean;
  tags?: string[] | null;
  extra_metadata?: Record<string, JsonValue> | null;
  estimated_complexity?: number | null;
}

/** The fields `update`, `newVersion` and `instantiateSpec` take; absent fields stay as they are. */
export type TemplatePatch = Partial<TemplateDraft>;

/** The fields `createSpec` takes. */
export interface SpecDraft {
  name: string;
  description?: string;
  workflow_type: WorkflowType;
  default_params?: Record<string, JsonValue>;
  required_tools?: string[] | null;
  required_retrievers?: string[] | null;
  base_template_name?: string | null;
  tags?: string[] | null;
  extra_metadata?: Record<string, JsonValue> | null;
}

/** The fields `updateSpec` takes. */
export type SpecPatch = Partial<SpecDraft>;

/** Codes of the violations that validation lists (see `violationCodes()`). */
export type ViolationCode =
  | "REQUIRED"
  | "TYPE"
  | "TOO_LONG"
  | "TOO_SHORT"
  | "TOO_MANY"
  | "PATTERN"
  | "INVALID_ID"
  | "INVALID_ENUM"
  | "INVALID_TIMESTAMP"
  | "CONTROL_CHAR"
  | "NOT_TRIMMED"
  | "DUPLICATE"
  | "OUT_OF_RANGE"
  | "UNSAFE_NUMBER"
  | "FORBIDDEN_KEY"
  | "TOO_DEEP"
  | "TOO_LARGE"
  | "INCONSISTENT"
  | "HASH_MISMATCH"
  | "READ_ONLY"
  | "UNKNOWN_FIELD"
  | "WORKFLOW_TYPE_MISMATCH"
  | "BUILTIN_CLAIM"
  | "TIME_ORDER"
  // found while reading the JS value, before validation proper
  | "LONE_SURROGATE"
  | "NOT_FINITE"
  | "CYCLE"
  | "UNREADABLE"
  // importAll: well-formed records it cannot accept, reported with the matching error code
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "BASE_NOT_FOUND"
  | "INHERITANCE_CYCLE"
  | "INHERITANCE_TOO_DEEP";

/** One problem with one field. */
export interface Violation {
  /** Path of the field: `name`, `default_params.retrieval.top_k`, `required_tools[2]`; `""` for the whole value. */
  field: string;
  /** Stable; `violationCodes()` lists them all. */
  code: ViolationCode;
  /** For people; wording may change between releases. */
  message: string;
}

/** What `validateTemplate` and `validateSpec` return: every violation, not only the first. */
export interface ValidationResult {
  ok: boolean;
  violations: Violation[];
}

export interface ValidateOptions {
  /** Validate a whole record (every column required) instead of a draft. Default false. */
  complete?: boolean;
}

/** The stable `code` of every error the package throws or rejects with. */
export type ErrorCode =
  | "VALIDATION_FAILED"
  | "NOT_FOUND"
  | "FORBIDDEN"
  | "NAME_TAKEN"
  | "CONFLICT"
  | "INHERITANCE_CYCLE"
  | "INHERITANCE_TOO_DEEP"
  | "BASE_NOT_FOUND"
  | "AMBIGUOUS_BASE"
  | "BUILTIN_READ_ONLY"
  | "HAS_DERIVED"
  | "INTEGRITY"
  | "STORAGE_QUOTA"
  | "STORAGE_UNAVAILABLE"
  | "NETWORK"
  | "UNAUTHORIZED"
  | "INVALID_ARGUMENT"
  | "HAS_LABELS";

/**
 * The one code the JS loader adds (not thrown by the wasm, so not in `errorCodes()`): a call
 * made before the wasm module is loaded (`workflow-templates/slim` before `await init()`, or
 * after an automatic load failed). The message says what to do.
 */
export type InitErrorCode = "NOT_INITIALIZED";

/**
 * The errors the package throws and rejects with: real `Error` objects (`instanceof Error`,
 * with a stack) of this class, whose `name` is `"WorkflowTemplateError"`. Every entry exports
 * the class, so `e instanceof WorkflowTemplateError` narrows `e.code` to `ErrorCode`.
 * `details` depends on the code, e.g. `{ violations: Violation[] }` for VALIDATION_FAILED,
 * `{ ids, hidden }` for INHERITANCE_CYCLE, `{ id, derived, hidden }` for HAS_DERIVED,
 * `{ id, labels }` for HAS_LABELS (deleting a version labels point at),
 * `{ reference }` for BASE_NOT_FOUND (`""` when only a template you cannot see names the missing
 * base); null when there is nothing more to say. An error names (by id or name) only templates
 * the acting user may `get`; the others are counted (`hidden`, or one violation at field
 * `derived` saying how many).
 */
export declare class WorkflowTemplateError extends Error {
  constructor(code: ErrorCode, message: string, details?: unknown);
  name: "WorkflowTemplateError";
  code: ErrorCode | InitErrorCode;
  details: unknown;
}

/**
 * A storage adapter object written in JS. Issue 3 defines its methods (the async adapter
 * contract of SPEC section 12); until then any object is accepted by the type.
 */
export interface StorageAdapter {
  /**
   * One record by key, or null. Keys: the record id; for ratings `${template_id}:${user_id}`;
   * for labels (`template_labels`, records `TemplateLabelRow`) `${owner_id}:${label}:${name_key}`,
   * which are only ever found by `{ owner_id }`.
   */
  get(table: StorageTable, key: string): Promise<StoredRow | null>;
  /**
   * Every record whose fields equal all of `where` (`name_key` is the name trimmed and
   * lowercased). Returning more rows is allowed: the catalog filters again.
   */
  find(table: StorageTable, where: StorageWhere): Promise<StoredRow[]>;
  /**
   * Applies every write or none. `rev` becomes the previous rev + 1 (1 when new). Reject with an
   * Error whose `code` is "CONFLICT" when an expectation fails, and "NAME_TAKEN" when two
   * templates with `is_latest: true` would share `owner_id` and name_key. Other codes passed
   * through: "STORAGE_QUOTA", "NETWORK", "UNAUTHORIZED"; anything else is STORAGE_UNAVAILABLE.
   */
  commit(writes: StorageWrite[]): Promise<void>;
  /** How long a call may take before it fails with STORAGE_UNAVAILABLE; default 60000. */
  timeoutMs?: number;
}

/** The tables of the storage contract. */
export type StorageTable = "workflow_templates" | "template_specs" | "template_ratings" | "builtin_stats" | "usage_totals" | "template_labels";

/** A record with its revision, as adapters keep it. */
export interface StoredRow<R = Record<string, unknown>> {
  rev: number;
  record: R;
}

/** Equality filters of `find`; only the fields given must match. */
export interface StorageWhere {
  owner_id?: string;
  name_key?: string;
  base_template_id?: string;
  base_template_name?: string;
  is_public?: boolean;
  is_latest?: boolean;
  category?: TemplateCategory;
  workflow_type?: WorkflowType;
  config_hash?: string;
  user_id?: string;
  template_id?: string;
}

/** One write of a `commit` batch: `record: null` deletes. */
export interface StorageWrite {
  table: StorageTable;
  key: string;
  /** "absent": the key must not exist; a number: the stored rev must equal it; "any": no check. */
  expect: "absent" | "any" | number;
  record: Record<string, unknown> | null;
}

/** `TemplateCatalog.open(options)`. */
export interface OpenOptions {
  /** The user the catalog acts for (a ULID). */
  userId: string;
  /**
   * Default: IndexedDB, or localStorage where IndexedDB is unavailable. `"remote"` needs
   * `baseUrl` (and usually `token`). An object implementing `StorageAdapter` runs the catalog
   * on it.
   */
  storage?: "indexeddb" | "memory" | "local" | "remote" | StorageAdapter;
  /** IndexedDB database name (and localStorage key suffix); default `"workflow-templates"`. */
  dbName?: string;
  baseUrl?: string;
  token?: string;
  /**
   * Storage `"remote"` only: keep an offline replica of what this user needs in IndexedDB
   * (database `wt-replica:<origin of baseUrl>:<userId>`, or `dbName` here), answer reads from
   * it, queue writes while the server is away (README "Offline replica").
   */
  replica?: boolean | { dbName?: string };
}

/** Options of `update`, `newVersion` and `updateSpec`. */
export interface WriteOptions {
  /** The `updated_at` of the copy the edit started from; the write fails with CONFLICT if the record has moved on. */
  ifMatch?: string;
}

/** One step of an inheritance chain, level 0 being the template itself. */
export interface ChainLink {
  id: string;
  name: string;
  base_template_id: string | null;
  level: number;
}

/** The effective configuration of a template after inheritance. */
export interface EffectiveConfig {
  workflow_type: WorkflowType;
  default_params: Record<string, JsonValue>;
  required_tools: string[];
  required_retrievers: string[];
}

/** What `resolve(id)` returns. */
export interface Resolution {
  id: string;
  chain: ChainLink[];
  effective: EffectiveConfig;
  /** For every effective parameter path (a JSON pointer such as `/model/temperature`), the id of the template that supplied it. */
  provenance: Record<string, string>;
  resolved_hash: string;
}

/** One changed field between two records, from `diff(idA, idB)`. */
export interface Change {
  /** JSON pointer from the record root, e.g. `/default_params/model/name`. */
  path: string;
  /** Tells an absent side from a null one (JSON Patch vocabulary). */
  op: "add" | "remove" | "replace";
  /** null when the key is absent before (`op` = `add`). */
  before: JsonValue;
  /** null when the key is absent after (`op` = `remove`). */
  after: JsonValue;
}

/** `discover(options)`. */
export interface DiscoverOptions {
  /** Matches name and description, case-insensitively. */
  text?: string;
  category?: TemplateCategory;
  workflowType?: WorkflowType;
  /** Every tag must match. */
  tags?: string[];
  /** A user id. */
  owner?: string;
  /** Default true. */
  includeBuiltin?: boolean;
  /** Default true. */
  latestOnly?: boolean;
  /** Default `"popular"`: usage_count desc, rating desc (nulls last), name, id. */
  sort?: "popular" | "rating" | "recent" | "name";
  /** 1..=100, default 20. */
  limit?: number;
  /** Default 0. */
  offset?: number;
}

/**
 * One page of results: the slice `[offset, offset + limit)` of every matching row in the sort's
 * order. A stored row in that slice that fails verification (SPEC section 4: hash mismatch, a
 * record the schema refuses) is left out of `items` and counted in `skipped` (absent when 0), so
 * `items.length + (skipped ?? 0) === Math.min(limit, total - offset)`: a short page is never the
 * end unless `offset + limit >= total`. `total` counts the skipped rows too.
 */
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
  skipped?: number;
  /** Offline replica only: `discover` answered from the replica because the server did not answer (it holds this user's records and the templates read before). */
  offline?: true;
}

/**
 * One use of a template, for `recordUsage(id, run)`. Per-run bounds (no real run reaches them;
 * a value above is `VALIDATION_FAILED` with `OUT_OF_RANGE` at that field): `responseTimeMs` an
 * integer in 0..=86 400 000 (24 h), `tokens` an integer in 0..=100 000 000, `cost` a finite
 * number in 0..=1 000 000. They keep one run from pushing a shared total to 2^53-1 (a use that
 * would pass it is `INVALID_ARGUMENT`). `total_cost` is the correctly rounded exact sum of the
 * recorded costs, whatever their order.
 */
export interface UsageRun {
  /** Required. */
  success: boolean;
  /** Required; milliseconds, 0..=86 400 000. */
  responseTimeMs: number;
  /** 0..=100 000 000; default 0. */
  tokens?: number;
  /** 0..=1 000 000; default 0. */
  cost?: number;
}

/**
 * What `subscribe` callbacks receive after every change: made through this catalog
 * (`external: false`) or in another tab on the same IndexedDB / localStorage database
 * (`external: true`). `{ kind: "storage", op: "closed" }` means another tab upgraded or deleted
 * the database: this catalog is closed and the page should reload. On storage `"remote"`,
 * `{ kind: "storage", op: "resync" }` means the server's change feed lost this client's place
 * (400 `CURSOR_AHEAD`: its database was restored) and started again from its head: changes may
 * have been missed, so re-read what you show; `{ kind: "storage", op: "error" }` means the
 * server refused the feed (a 4xx, e.g. 401): no more external events until the next
 * `subscribe` call reconnects it (README "Live updates on remote"). An offline replica
 * (`replica: true`) also sends `ConflictEvent`, `SyncEvent` and `RejectedEvent` (README
 * "Offline replica"); its pulled server changes are record events with `external: true`.
 */
export type ChangeEvent = RecordChangeEvent | ConflictEvent | SyncEvent | RejectedEvent;

/** A record changed (see `ChangeEvent`). */
export interface RecordChangeEvent {
  /** `"label"`: a label was set, moved or removed; `id` is the version it points (pointed) at. */
  kind: "template" | "spec" | "rating" | "usage" | "label" | "import" | "storage";
  op: "create" | "update" | "delete" | "import" | "closed" | "resync" | "error";
  id: string | null;
  /**
   * `true` for a change made elsewhere: another tab (IndexedDB, localStorage) or, on storage
   * `"remote"`, another client, heard from the server's change feed (op `"update"` for a put,
   * `"delete"`; README "Live updates on remote"). `false` for this catalog's own writes.
   */
  external: boolean;
}

/**
 * Offline replica only: a queued write the server refused because the record changed there
 * since this client's copy (412 / 409 CONFLICT). The write is kept, and later writes of `id`
 * wait (of that side record only, for a `recordKind` of "labels", "rating" or "usage"), until
 * `resolveConflict(id, "keep-remote" | "overwrite", recordKind?)`.
 */
export interface ConflictEvent {
  kind: "conflict";
  op: "conflict";
  id: string;
  /** What the conflict is about (`KeptConflict.kind`): one id may have a label conflict and a template conflict at once, each kept and resolved apart. */
  recordKind: ConflictKind;
  /** The replica's copy (with the local edits); for a label, the lineage's labels. */
  local: WorkflowTemplate | TemplateSpec | Label[] | null;
  /** The server's copy when it could be read, else null (gone, or not readable by this user). */
  remote: WorkflowTemplate | TemplateSpec | Label[] | null;
  external: false;
}

/** Offline replica only: the sync state changed (also what `syncState()` answers). */
export interface SyncEvent extends SyncState {
  kind: "sync";
  op: "state";
  id: null;
  external: false;
}

/**
 * Offline replica only: the server refused a queued write for a rule (not CONFLICT, NETWORK or
 * UNAUTHORIZED); it was dropped and the server's copy of its record brought back.
 */
export interface RejectedEvent extends RejectedWrite {
  kind: "rejected";
  op: "rejected";
  external: false;
}

/** `syncState()`: reachability and how many writes are queued. */
export interface SyncState {
  /** `"syncing"` while pushing or pulling; `"offline"` when the server did not answer (or refused the token: see `error`). */
  state: "online" | "offline" | "syncing";
  pending: number;
  /** Set once the server refused the token (`UNAUTHORIZED`): nothing is sent until the catalog is reopened with a valid one; queued writes are kept. */
  error?: { code: ErrorCode; message: string };
  /** Set while a queued write waits because the server answered it "not now" (5xx, 408, 429, or a create id ahead of its clock); gone once a push gets past it. */
  held?: HeldWrite;
}

/**
 * `SyncState.held`: the queued write the push stopped at and the server's answer to its last
 * send. It (and every later write) is sent again at `retryAt` by a timer, not on feed news or
 * new writes: max(full-jitter backoff 1 s doubling to 60 s, the answer's `Retry-After`, RFC 9110
 * section 10.2.3, cut at 1 h). The app's own `sync()` sends it at once.
 */
export interface HeldWrite {
  seq: number | null;
  endpoint: string | null;
  id: string | null;
  /** The HTTP status of the answer (503, 429, ...); null for a create whose id is ahead of the server's clock, or when the tab that sent it closed before its answer was kept (error `NETWORK`: this tab waits one backoff step). */
  status: number | null;
  /**
   * What the server said: its coded error body as sent (`code` may be one this version does not
   * know, such as a rate-limit code), or, without one (a gateway's 503), the client's own
   * description (`NETWORK`, its message naming the status).
   */
  error: { code: string; message: string; details: unknown };
  /** When the timer sends it again (RFC 3339, this device's clock). */
  retryAt: string;
}

/**
 * A queued write of an offline replica (`pending()`), oldest first. `discardPending(seq)` drops
 * one (a write the server refuses for good, or one the user no longer wants) with the later
 * writes built on it — the record's later edits (not a `delete` or `restoreVersion`; for a label
 * write, that label's; for a `rate` or `recordUsage`, none) and every later write naming an id it
 * created — and resolves with the seqs dropped, ascending. A write held on a 502/504 (or whose
 * answer was lost) may already be applied on the server: discarding it does not undo that.
 * The records they touched are re-read from the server at the next pull (an edit is undone, a
 * record the server never had goes); until then (offline) the local copy keeps them.
 * `INVALID_ARGUMENT` when `seq` is not a positive safe integer; `NOT_FOUND` (details
 * `{ kind: "pending", id: String(seq) }`) when nothing queued has it: never queued, already
 * sent, or dropped (always, off a replica).
 */
export interface OutboxEntry {
  /** Order of the outbox (pushed in this order); the handle of `discardPending(seq)`. */
  seq: number;
  /** The Idempotency-Key the push sends (a ULID). */
  key: string;
  /** The method's endpoint name (`"create"`, `"update"`, `"rate"`, ...). */
  endpoint: string;
  /** The request: `{ id?, label?, query?, body?, ifMatch? }` (a create's `query.id` is the id it claims). */
  args: Record<string, unknown>;
  /** The id a create-like write made (ULID), else null. */
  id: string | null;
  /** The record whose server `updated_at` is sent as If-Match (or whose id a create claims). */
  target: string | null;
  /** When the write was made (RFC 3339, this device's clock). */
  at: string;
}

/**
 * A queued write the server refused (`sync()`'s `rejected`, and `RejectedEvent`), or (event
 * only, `endpoint: "pull"`, `seq: null`) a server record the replica refused to store. A
 * `recordUsage` first sent 89 days ago or more is not sent again (the server keeps its
 * Idempotency-Key 90 days): `CONFLICT`, details `{ reason: "IDEMPOTENCY_KEY_EXPIRED",
 * first_sent_at }` (RFC 3339), its outcome unknown.
 */
export interface RejectedWrite {
  seq: number | null;
  endpoint: string;
  id: string | null;
  error: { code: ErrorCode; message: string; details: unknown };
}

/**
 * What a kept conflict is about: the template or spec itself (later writes of the id wait behind
 * it, except the counters `rate` and `recordUsage`, which merge with any content), or a side
 * record of the id (its labels, the user's rating, a use), whose conflict holds back only that
 * record's later writes. `resolveConflict(id, choice, kind)` names it when one
 * id has several.
 */
export type ConflictKind = "template" | "spec" | "labels" | "rating" | "usage";

/** A conflict kept by an offline replica (`sync()`'s `conflicts`), one per kind and id. */
export interface KeptConflict {
  id: string;
  kind: ConflictKind;
  seq: number;
  endpoint: string;
  local: WorkflowTemplate | TemplateSpec | Label[] | null;
  remote: WorkflowTemplate | TemplateSpec | Label[] | null;
  error: { code: ErrorCode; message: string };
}

/** What `sync()` resolves with. */
export interface SyncResult {
  /**
   * Queued writes the server took in this sync, counting a background sync (a retry timer,
   * feed news) this call waited for: the writes queued when `sync()` was called may have gone
   * with it. Likewise `pulled` and `rejected`.
   */
  pushed: number;
  /** Changes (or, on a full pull, records) brought from the server. */
  pulled: number;
  /** Every conflict kept now (this sync's and earlier unresolved ones). */
  conflicts: KeptConflict[];
  /** Writes dropped in this sync (or one it waited for) because the server refused them for a rule. */
  rejected: RejectedWrite[];
}

/** One user's rating of one template. */
export interface Rating {
  template_id: string;
  user_id: string;
  /** 0..=5 */
  stars: number;
  updated_at: string;
}

/** The usage and rating statistics of a template (for built-ins they are kept in storage). */
export interface UsageStats {
  rating: number | null;
  rating_count: number;
  usage_count: number;
  success_rate: number | null;
  avg_response_time_ms: number | null;
  last_used_at: string | null;
  total_tokens_used: number;
  total_cost: number;
  avg_tokens_per_use: number | null;
}

/** Statistics of one built-in template. */
export type BuiltinStats = { id: string } & UsageStats;

/** What `exportAll()` returns and `importAll(bundle)` takes. */
export interface ExportBundle {
  format_version: number;
  exported_at: string;
  owner_id: string;
  workflow_templates: WorkflowTemplate[];
  template_specs: TemplateSpec[];
  ratings: Rating[];
  builtin_stats: BuiltinStats[];
  /** The owner's labels (absent in bundles from before labels). */
  template_labels?: Label[];
  /**
   * Stored rows left out because they failed verification, with what storage holds (so the
   * owner can repair and re-import them). `importAll` ignores this field.
   */
  skipped?: SkippedRow[];
}

/** A stored row `exportAll` left out because it failed verification. */
export interface SkippedRow {
  table: StorageTable;
  /** The row's key (a record id; `${template_id}:${user_id}` for ratings). */
  id: string;
  code: "INTEGRITY";
  message: string;
  record: unknown;
}

/** How many records `importAll` wrote. */
export interface ImportReport {
  templates: number;
  specs: number;
  ratings: number;
  builtin_stats: number;
  /** Built-in statistics rows not applied (a shared catalog, e.g. the server, takes none; a
   *  private one only seeds built-ins without statistics). */
  builtin_stats_ignored: number;
  /** Label rows written. */
  labels: number;
}

// ---- registry (SPEC section 6, issue 14) ----------------------------------------------------

/**
 * A label pointing at one version of a lineage (the templates with one owner and one
 * case-insensitive name). Names match `^[a-z0-9][a-z0-9_.-]{0,63}$`; `latest` is reserved (it
 * always means the latest version).
 */
export interface Label {
  label: string;
  template_id: string;
  version: number;
  /** Moves forward on every move: the `ifMatch` of the next `setLabel` / `removeLabel`. */
  updated_at: string;
}

/** A row of the `template_labels` table as a storage adapter keeps it. */
export interface TemplateLabelRow extends Label {
  owner_id: string;
  /** The lineage's name, trimmed and lowercased. */
  name_key: string;
}

/** One entry of `versions(id, { withLabels: true })`: the record unchanged, and its labels. */
export interface LabelledVersion {
  record: WorkflowTemplate;
  labels: string[];
}

/** Options of `versions`. */
export interface VersionsOptions {
  /** Each version as `{ record, labels }` instead of the bare record. */
  withLabels?: boolean;
}

/**
 * Options of `getByName` / `resolveByName`: `version` or `label` (not both) pick inside the
 * lineage; `owner` (a user id) says whose lineage; without it the name resolves as a spec's
 * `base_template_name` does (own, else built-in, else the single public one: AMBIGUOUS_BASE).
 */
export interface ByNameOptions {
  version?: number;
  label?: string;
  owner?: string;
}

/** Options of `restoreVersion`. */
export interface RestoreOptions {
  /** Default: "Restored version N (<id>)". */
  changelog?: string;
  /** The `updated_at` of the current latest version (the one the restore supersedes). */
  ifMatch?: string;
}

/** `versions` typed by its option (merged into the class's declaration). */
export interface TemplateCatalog {
  versions(id: string, options: { withLabels: true }): Promise<LabelledVersion[]>;
  versions(id: string, options?: { withLabels?: false }): Promise<WorkflowTemplate[]>;
}
