// A TypeScript consumer of the published package, written the way SPEC section 14 says users
// will write it. It is only type-checked (tsc --noEmit), never run: it fails to compile when
// the package's types regress (a name disappears, a record column changes type or nullability,
// a union gains or loses a member, an optional argument becomes required).

import init, {
  TemplateCatalog,
  builtinTemplates,
  canonicalJson,
  configHash,
  errorCodes,
  newId,
  validateSpec,
  validateTemplate,
  violationCodes,
} from "../../pkg/workflow_templates.js";
import type {
  ByNameOptions,
  Label,
  LabelledVersion,
  RestoreOptions,
  Change,
  ChainLink,
  ChangeEvent,
  OutboxEntry,
  SyncResult,
  SyncState,
  DiscoverOptions,
  ErrorCode,
  ExportBundle,
  ImportReport,
  JsonValue,
  OpenOptions,
  Page,
  Resolution,
  SpecDraft,
  SpecPatch,
  StorageAdapter,
  StorageTable,
  StorageWhere,
  StorageWrite,
  StoredRow,
  TemplateCategory,
  TemplateDraft,
  TemplatePatch,
  TemplateSpec,
  UsageRun,
  ValidateOptions,
  ValidationResult,
  Violation,
  ViolationCode,
  WorkflowTemplate,
  WorkflowTemplateError,
  WorkflowType,
  WriteOptions,
} from "../../pkg/workflow_templates.js";

// ---- compile-time assertions -------------------------------------------------------------
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): void {}

expectType<Equal<WorkflowType, "plain" | "tools" | "rag" | "full">>();
expectType<
  Equal<
    TemplateCategory,
    "general" | "customer_support" | "programming" | "research" | "data_analysis" | "creative" | "educational" | "business" | "custom"
  >
>();
expectType<
  Equal<
    ErrorCode,
    | "VALIDATION_FAILED" | "NOT_FOUND" | "FORBIDDEN" | "NAME_TAKEN" | "CONFLICT" | "INHERITANCE_CYCLE"
    | "INHERITANCE_TOO_DEEP" | "BASE_NOT_FOUND" | "AMBIGUOUS_BASE" | "BUILTIN_READ_ONLY" | "HAS_DERIVED"
    | "INTEGRITY" | "STORAGE_QUOTA" | "STORAGE_UNAVAILABLE" | "NETWORK" | "UNAUTHORIZED" | "INVALID_ARGUMENT"
    | "HAS_LABELS"
  >
>();

expectType<
  Equal<
    ViolationCode,
    | "REQUIRED" | "TYPE" | "TOO_LONG" | "TOO_SHORT" | "TOO_MANY" | "PATTERN" | "INVALID_ID" | "INVALID_ENUM"
    | "INVALID_TIMESTAMP" | "CONTROL_CHAR" | "NOT_TRIMMED" | "DUPLICATE" | "OUT_OF_RANGE" | "UNSAFE_NUMBER"
    | "FORBIDDEN_KEY" | "TOO_DEEP" | "TOO_LARGE" | "INCONSISTENT" | "HASH_MISMATCH" | "READ_ONLY" | "UNKNOWN_FIELD"
    | "WORKFLOW_TYPE_MISMATCH" | "BUILTIN_CLAIM" | "TIME_ORDER" | "LONE_SURROGATE" | "NOT_FINITE" | "CYCLE"
    | "UNREADABLE" | "FORBIDDEN" | "NOT_FOUND" | "BASE_NOT_FOUND" | "INHERITANCE_CYCLE" | "INHERITANCE_TOO_DEEP"
  >
>();

// Every column of the schema, and no other.
expectType<
  Equal<
    keyof WorkflowTemplate,
    | "id" | "created_at" | "updated_at" | "owner_id" | "name" | "description" | "workflow_type" | "category"
    | "default_params" | "required_tools" | "required_retrievers" | "base_template_id" | "is_builtin" | "version"
    | "is_latest" | "changelog" | "is_public" | "rating" | "rating_count" | "usage_count" | "success_rate"
    | "avg_response_time_ms" | "last_used_at" | "total_tokens_used" | "total_cost" | "avg_tokens_per_use" | "tags"
    | "extra_metadata" | "config_hash" | "estimated_complexity"
  >
>();
expectType<
  Equal<
    keyof TemplateSpec,
    | "id" | "created_at" | "updated_at" | "owner_id" | "name" | "description" | "workflow_type" | "default_params"
    | "required_tools" | "required_retrievers" | "base_template_name" | "usage_count" | "last_used_at" | "tags"
    | "extra_metadata"
  >
>();

// Nullability per the schema; counters are numbers (never bigint); JSON columns are plain objects.
expectType<Equal<WorkflowTemplate["usage_count"], number>>();
expectType<Equal<WorkflowTemplate["total_tokens_used"], number>>();
expectType<Equal<WorkflowTemplate["rating"], number | null>>();
expectType<Equal<WorkflowTemplate["description"], string>>();
expectType<Equal<WorkflowTemplate["default_params"], Record<string, JsonValue>>>();
expectType<Equal<WorkflowTemplate["extra_metadata"], Record<string, JsonValue> | null>>();
expectType<Equal<WorkflowTemplate["required_tools"], string[] | null>>();
expectType<Equal<WorkflowTemplate["base_template_id"], string | null>>();
expectType<Equal<WorkflowTemplate["last_used_at"], string | null>>();
expectType<Equal<TemplateSpec["base_template_name"], string | null>>();
expectType<Equal<TemplatePatch, Partial<TemplateDraft>>>();
expectType<Equal<SpecPatch, Partial<SpecDraft>>>();
expectType<Equal<Violation["field"], string>>();
expectType<Equal<ReturnType<typeof validateTemplate>, ValidationResult>>();
expectType<Equal<ReturnType<typeof builtinTemplates>, WorkflowTemplate[]>>();
expectType<Equal<ReturnType<typeof errorCodes>, ErrorCode[]>>();
expectType<Equal<ReturnType<typeof violationCodes>, ViolationCode[]>>();
expectType<Equal<ReturnType<typeof newId>, string>>();
expectType<Equal<ReturnType<typeof canonicalJson>, string>>();
expectType<Equal<ReturnType<typeof configHash>, string>>();

// ---- the functions ------------------------------------------------------------------------
export async function functions(wasmBytes: ArrayBuffer): Promise<void> {
  await init({ module_or_path: wasmBytes });

  const first: WorkflowTemplate = builtinTemplates()[0];
  const type: WorkflowType = builtinTemplates()[0].workflow_type;
  const category: TemplateCategory = first.category;
  const tools: readonly string[] = first.required_tools ?? [];
  const hash: string = configHash(first);
  const draftHash: string = configHash({ name: "x", workflow_type: type });
  const id: string = newId();
  const text: string = canonicalJson({ b: [1, 2], a: null });

  // validate*(value) with and without options.
  const draft: TemplateDraft = { name: "Rust reviewer", workflow_type: "tools", required_tools: ["repo_search"], category };
  const r1: ValidationResult = validateTemplate(draft);
  const r2 = validateTemplate(first, { complete: true } satisfies ValidateOptions);
  const r3 = validateSpec({ name: "spec", workflow_type: "rag" } satisfies SpecDraft);
  const unknownInput: unknown = JSON.parse("{}");
  validateTemplate(unknownInput); // takes anything: it is a validator
  for (const v of [...r1.violations, ...r2.violations, ...r3.violations]) {
    const code: ViolationCode = v.code;
    console.log(v.field, code, v.message);
  }
  console.log(hash, draftHash, id, text, tools);

  // @ts-expect-error workflow_type is a WorkflowType, not any string
  const wrongType: WorkflowType = "chat";
  // @ts-expect-error counters are numbers, never bigint
  const big: bigint = first.usage_count;
  // @ts-expect-error a draft cannot carry catalog-maintained fields
  const readOnly: TemplateDraft = { name: "x", workflow_type: "plain", config_hash: "00" };
  // @ts-expect-error a draft needs a workflow_type
  const missing: TemplateDraft = { name: "x" };
  // @ts-expect-error tags are strings
  const badTags: TemplatePatch = { tags: [1, 2] };
  // @ts-expect-error newId takes no argument
  newId("seed");
  console.log(wrongType, big, readOnly, missing, badTags);
}

// ---- the catalog ----------------------------------------------------------------------------
function isWorkflowTemplateError(e: unknown): e is WorkflowTemplateError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === "string";
}

function describeError(code: ErrorCode): string {
  switch (code) {
    case "VALIDATION_FAILED":
    case "INVALID_ARGUMENT":
      return "fix the input";
    case "NOT_FOUND":
    case "FORBIDDEN":
    case "UNAUTHORIZED":
      return "not yours";
    case "NAME_TAKEN":
    case "CONFLICT":
      return "reload and retry";
    case "INHERITANCE_CYCLE":
    case "INHERITANCE_TOO_DEEP":
    case "BASE_NOT_FOUND":
    case "AMBIGUOUS_BASE":
      return "fix the base";
    case "BUILTIN_READ_ONLY":
    case "HAS_DERIVED":
    case "HAS_LABELS":
      return "cannot change that";
    case "INTEGRITY":
    case "STORAGE_QUOTA":
    case "STORAGE_UNAVAILABLE":
    case "NETWORK":
      return "storage trouble";
    default: {
      const exhaustive: never = code; // fails when ErrorCode gains a member not handled above
      return exhaustive;
    }
  }
}

export async function catalogUsage(userId: string, adapter: StorageAdapter): Promise<void> {
  const options: OpenOptions = { userId, storage: "indexeddb", dbName: "workflow-templates" };
  const catalog: TemplateCatalog = await TemplateCatalog.open(options);
  await TemplateCatalog.open({ userId, storage: "memory" });
  await TemplateCatalog.open({ userId, storage: "remote", baseUrl: "http://127.0.0.1:8080", token: "t" });
  await TemplateCatalog.open({ userId, storage: adapter });
  await TemplateCatalog.open({ userId });
  const kind: string = catalog.storage;
  console.log(kind);
  // A hand-written adapter type-checks against the contract.
  const rows = new Map<string, StoredRow>();
  const mine: StorageAdapter = {
    async get(table: StorageTable, key: string) {
      return rows.get(`${table}/${key}`) ?? null;
    },
    async find(table: StorageTable, where: StorageWhere) {
      return [...rows.values()].filter((r) => where.owner_id === undefined || r.record.owner_id === where.owner_id);
    },
    async commit(writes: StorageWrite[]) {
      for (const w of writes) {
        if (w.record === null) rows.delete(`${w.table}/${w.key}`);
        else rows.set(`${w.table}/${w.key}`, { rev: (rows.get(`${w.table}/${w.key}`)?.rev ?? 0) + 1, record: w.record });
      }
    },
  };
  await TemplateCatalog.open({ userId, storage: mine });
  // @ts-expect-error an adapter needs get, find and commit
  await TemplateCatalog.open({ userId, storage: { get: async () => null } });
  // @ts-expect-error storage is one of the known kinds or an adapter object
  await TemplateCatalog.open({ userId, storage: "sqlite" });
  // @ts-expect-error userId is required
  await TemplateCatalog.open({ storage: "memory" });

  const base = builtinTemplates().find((t) => t.name === "Code Assistant");
  const created: WorkflowTemplate = await catalog.create({
    name: "Rust reviewer",
    workflow_type: "tools",
    base_template_id: base?.id ?? null,
    default_params: { model: { temperature: 0 }, focus: "unsafe code", list: [1, "two", null, { deep: true }] },
    tags: ["rust", "review"],
  });
  const got: WorkflowTemplate = await catalog.get(created.id);
  const patch: TemplatePatch = { description: "Reviews Rust code" };
  const updated = await catalog.update(got.id, patch);
  await catalog.update(got.id, { is_public: true }, { ifMatch: updated.updated_at } satisfies WriteOptions);
  const v2: WorkflowTemplate = await catalog.newVersion(updated.id, { default_params: {} }, "second version");
  await catalog.newVersion(v2.id, { tags: null }, null, { ifMatch: v2.updated_at });
  const versions: WorkflowTemplate[] = await catalog.versions(v2.id);
  const changes: Change[] = await catalog.diff(versions[1].id, versions[0].id);
  for (const c of changes) console.log(c.path, c.before, c.after);

  // The registry (issue 14): labels, fetch by name, rollback.
  const prod: Label = await catalog.setLabel(v2.id, "production");
  await catalog.setLabel(versions[0].id, "production", { ifMatch: prod.updated_at });
  const labels: Label[] = await catalog.labels(v2.id);
  const labelled: LabelledVersion[] = await catalog.versions(v2.id, { withLabels: true });
  const unlabelled: WorkflowTemplate[] = await catalog.versions(v2.id, { withLabels: false });
  // @ts-expect-error withLabels is a boolean
  await catalog.versions(v2.id, { withLabels: "yes" });
  console.log(unlabelled.length);
  const badges: string[] = labelled[0].labels;
  const record: WorkflowTemplate = labelled[0].record;
  await catalog.removeLabel(v2.id, "production", { ifMatch: labels[0].updated_at });
  const byName: WorkflowTemplate = await catalog.getByName("Rust reviewer", { label: "production" } satisfies ByNameOptions);
  await catalog.getByName("Rust reviewer");
  await catalog.getByName("Rust reviewer", { version: 1, owner: byName.owner_id });
  const resolvedByName: Resolution = await catalog.resolveByName("Rust reviewer", { label: "latest" });
  const restored: WorkflowTemplate = await catalog.restoreVersion(v2.id, { changelog: "back", ifMatch: record.updated_at } satisfies RestoreOptions);
  await catalog.restoreVersion(v2.id);
  console.log(badges, resolvedByName.resolved_hash, restored.version);

  const page: Page<WorkflowTemplate> = await catalog.discover({ text: "review", sort: "popular", limit: 20 } satisfies DiscoverOptions);
  await catalog.discover();
  await catalog.discover({ category: "programming", workflowType: "tools", tags: ["rust"], includeBuiltin: false, latestOnly: true, offset: 20 });
  // @ts-expect-error sort is one of popular, rating, recent, name
  await catalog.discover({ sort: "newest" });
  const popular = await catalog.popularByCategory(3);
  const programming: WorkflowTemplate[] = popular.programming;

  const chain: ChainLink[] = await catalog.chain(v2.id);
  const resolution: Resolution = await catalog.resolve(v2.id);
  const effectiveType: WorkflowType = resolution.effective.workflow_type;
  const effectiveTools: string[] = resolution.effective.required_tools;
  const suppliedBy: string | undefined = resolution.provenance["/model/temperature"];
  const children: WorkflowTemplate[] = await catalog.derived(v2.id);

  const run: UsageRun = { success: true, responseTimeMs: 420, tokens: 1200, cost: 0.002 };
  await catalog.recordUsage(v2.id, run);
  await catalog.recordUsage(v2.id, { success: false, responseTimeMs: 30 });
  const rated: WorkflowTemplate = await catalog.rate(v2.id, 5);

  const spec: TemplateSpec = await catalog.createSpec({ name: "Reviewer spec", workflow_type: "tools", base_template_name: "Code Assistant" });
  await catalog.getSpec(spec.id);
  await catalog.updateSpec(spec.id, { description: "for PRs" } satisfies SpecPatch);
  const specs: TemplateSpec[] = await catalog.listSpecs();
  const fromSpec: WorkflowTemplate = await catalog.instantiateSpec(spec.id, { name: "From spec" });
  await catalog.instantiateSpec(spec.id);
  await catalog.deleteSpec(spec.id);

  const bundle: ExportBundle = await catalog.exportAll();
  const report: ImportReport = await catalog.importAll(bundle);
  const unsubscribe: () => void = catalog.subscribe((event: ChangeEvent) => {
    const fromAnotherTab: boolean = event.external;
    const changed: string | null = event.id;
    if (event.kind === "conflict") {
      const theirs: WorkflowTemplate | TemplateSpec | Label[] | null = event.remote;
      console.log(theirs);
    } else if (event.kind === "sync") {
      const state: "online" | "offline" | "syncing" = event.state;
      const queued: number = event.pending;
      console.log(state, queued);
    } else if (event.kind !== "rejected") {
      const kind: "template" | "spec" | "rating" | "usage" | "label" | "import" | "storage" = event.kind;
      console.log(kind);
    }
    console.log(changed, fromAnotherTab);
  });
  const queued: OutboxEntry[] = await catalog.pending();
  const synced: SyncResult = await catalog.sync();
  const now: SyncState = catalog.syncState();
  console.log(queued.length, synced.pushed, synced.conflicts.length, synced.rejected.length, now.state);
  if (now.held) {
    const retryAt: string = now.held.retryAt;
    const status: number | null = now.held.status;
    const serverCode: string = now.held.error.code;
    console.log(retryAt, status, serverCode);
  }
  if (queued.length > 0) {
    const dropped: number[] = await catalog.discardPending(queued[0].seq);
    console.log(dropped.length);
  }
  // @ts-expect-error: the handle is the entry's seq (a number), not the entry
  await catalog.discardPending(queued[0]);
  const replica: TemplateCatalog = await TemplateCatalog.open({ userId: "01J0USER000000000000000001", storage: "remote", baseUrl: "http://127.0.0.1:1", token: "t", replica: { dbName: "mine" } });
  await replica.resolveConflict("01J0USER000000000000000001", "keep-remote");
  unsubscribe();

  try {
    await catalog.delete(v2.id);
  } catch (e) {
    // The loader's NOT_INITIALIZED is outside ErrorCode (the codes errorCodes() lists): ruling
    // it out narrows e.code to ErrorCode.
    if (isWorkflowTemplateError(e) && e.code !== "NOT_INITIALIZED") {
      const code: ErrorCode = e.code;
      console.log(describeError(code), e.message, e.stack, e.details);
    }
  }
  catalog.close();
  await TemplateCatalog.destroy("workflow-templates");
  await TemplateCatalog.destroy();
  const persisted: boolean = await TemplateCatalog.storagePersisted();
  const granted: boolean = await TemplateCatalog.requestPersistentStorage();
  // @ts-expect-error: no argument
  await TemplateCatalog.requestPersistentStorage("yes");

  console.log(persisted, granted, page.items.length, page.total, programming, chain, effectiveType, effectiveTools, suppliedBy, children, rated, specs, fromSpec, report);
}
