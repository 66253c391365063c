// The field rules of SPEC section 3 for a template draft (what `create` takes; what an editor
// validates), written for the peers: an ajv JSON Schema and a zod 4 schema. JSON Schema says
// almost everything; two rules it cannot say (nesting depth and canonical size) and the
// case-insensitive distinctness of tags are custom keywords for ajv and refinements for zod,
// sharing the small helpers below. Strings are checked for lone surrogates (RFC 8785 / I-JSON).

export const MAX_SAFE = 2 ** 53 - 1;
const ULID = "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$";
const WELL_FORMED = "^[^\\uD800-\\uDFFF]*$"; // with the u flag: no lone surrogate
// trimmed, no control characters (Cc), well-formed
const NAME = "^[^\\s\\u0000-\\u001F\\u007F-\\u009F\\uD800-\\uDFFF](?:[^\\u0000-\\u001F\\u007F-\\u009F\\uD800-\\uDFFF]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\uD800-\\uDFFF])?$";
const TRIMMED = "^[^\\s\\uD800-\\uDFFF](?:[^\\uD800-\\uDFFF]*[^\\s\\uD800-\\uDFFF])?$";
const TOOL = "^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$";
export const WORKFLOW_TYPES = ["plain", "tools", "rag", "full"];
export const CATEGORIES = ["general", "customer_support", "programming", "research", "data_analysis", "creative", "educational", "business", "custom"];

/** Nesting depth of a JSON value (a scalar is 0, `{}` is 1). */
export function depthWithin(v, max) {
  if (v === null || typeof v !== "object") return true;
  if (max <= 0) return false;
  if (Array.isArray(v)) { for (const x of v) if (!depthWithin(x, max - 1)) return false; return true; }
  for (const k in v) if (!depthWithin(v[k], max - 1)) return false;
  return true;
}
/** UTF-8 size of the RFC 8785 form <= max. For well-formed JSON values JSON.stringify has the
 * same length as the canonical form (same number and string forms; only key order differs). */
export function canonicalWithin(v, max) {
  const s = JSON.stringify(v);
  if (s.length * 3 <= max) return true;
  if (s.length > max) return false;
  return new TextEncoder().encode(s).length <= max;
}
const distinctCI = (a) => new Set(a.map((s) => s.toLowerCase())).size === a.length;

// ---------------------------------------------------------------- ajv (JSON Schema 2020-12 subset)
export const draftJsonSchema = {
  $id: "wt-draft",
  type: "object",
  additionalProperties: false,
  required: ["name", "workflow_type"],
  $defs: {
    json: {
      // one schema for every JSON type: each keyword applies to its own type only
      type: ["null", "boolean", "number", "string", "array", "object"],
      minimum: -MAX_SAFE, maximum: MAX_SAFE,
      pattern: WELL_FORMED,
      items: { $ref: "#/$defs/json" },
      propertyNames: { pattern: WELL_FORMED, not: { const: "__proto__" } },
      additionalProperties: { $ref: "#/$defs/json" },
    },
    idList: {
      type: ["array", "null"], maxItems: 64, uniqueItems: true,
      items: { type: "string", pattern: TOOL },
    },
  },
  properties: {
    name: { type: "string", minLength: 1, maxLength: 255, pattern: NAME },
    description: { type: "string", maxLength: 10000, pattern: WELL_FORMED },
    workflow_type: { enum: WORKFLOW_TYPES },
    category: { enum: CATEGORIES },
    default_params: { type: "object", $ref: "#/$defs/json", maxDepth: 32, maxCanonicalBytes: 256 * 1024 },
    required_tools: { $ref: "#/$defs/idList" },
    required_retrievers: { $ref: "#/$defs/idList" },
    base_template_id: { type: ["string", "null"], pattern: ULID },
    changelog: { type: ["string", "null"], maxLength: 10000, pattern: WELL_FORMED },
    is_public: { type: "boolean" },
    tags: {
      type: ["array", "null"], maxItems: 32, distinctIgnoringCase: true,
      items: { type: "string", minLength: 1, maxLength: 64, pattern: TRIMMED },
    },
    extra_metadata: { type: ["object", "null"], $ref: "#/$defs/json", maxCanonicalBytes: 64 * 1024 },
    estimated_complexity: { type: ["integer", "null"], minimum: 0, maximum: MAX_SAFE },
  },
  // workflow-type consistency (SPEC section 3) when there is no base to inherit from
  if: { properties: { base_template_id: { type: "string" } }, required: ["base_template_id"] },
  else: {
    allOf: [
      { if: { properties: { workflow_type: { const: "plain" } } }, then: { properties: { required_tools: { maxItems: 0 }, required_retrievers: { maxItems: 0 } } } },
      { if: { properties: { workflow_type: { const: "tools" } } }, then: { required: ["required_tools"], properties: { required_tools: { type: "array", minItems: 1 }, required_retrievers: { maxItems: 0 } } } },
      { if: { properties: { workflow_type: { const: "rag" } } }, then: { required: ["required_retrievers"], properties: { required_tools: { maxItems: 0 }, required_retrievers: { type: "array", minItems: 1 } } } },
      { if: { properties: { workflow_type: { const: "full" } } }, then: { required: ["required_tools", "required_retrievers"], properties: { required_tools: { type: "array", minItems: 1 }, required_retrievers: { type: "array", minItems: 1 } } } },
    ],
  },
};

export function makeAjv(Ajv) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addKeyword({ keyword: "maxDepth", type: "object", schemaType: "number", validate: (max, data) => depthWithin(data, max) });
  ajv.addKeyword({ keyword: "maxCanonicalBytes", type: "object", schemaType: "number", validate: (max, data) => canonicalWithin(data, max) });
  ajv.addKeyword({ keyword: "distinctIgnoringCase", type: "array", schemaType: "boolean", validate: (on, data) => !on || data.some((x) => typeof x !== "string") || distinctCI(data) });
  return ajv.compile(draftJsonSchema);
}

// ---------------------------------------------------------------- zod 4
export function makeZod(z) {
  const wf = (s) => s.isWellFormed();
  const scalars = (s) => [...s].length; // SPEC counts Unicode scalar values
  const json = z.lazy(() => z.union([
    z.null(), z.boolean(), z.number().min(-MAX_SAFE).max(MAX_SAFE), z.string().refine(wf),
    z.array(json),
    z.record(z.string().refine((k) => k !== "__proto__" && wf(k)), json),
  ]));
  const jsonObject = z.record(z.string().refine((k) => k !== "__proto__" && wf(k)), json);
  const idList = z.array(z.string().regex(new RegExp(TOOL))).max(64)
    .refine((a) => new Set(a).size === a.length, "duplicate").nullable();
  const hasBase = (d) => typeof d.base_template_id === "string";
  return z.strictObject({
    name: z.string().min(1).regex(new RegExp(NAME, "u")).refine((s) => s.length <= 255 || scalars(s) <= 255),
    description: z.string().refine(wf).refine((s) => s.length <= 10000 || scalars(s) <= 10000).optional(),
    workflow_type: z.enum(WORKFLOW_TYPES),
    category: z.enum(CATEGORIES).optional(),
    default_params: jsonObject.refine((v) => depthWithin(v, 32), "too deep").refine((v) => canonicalWithin(v, 256 * 1024), "too large").optional(),
    required_tools: idList.optional(),
    required_retrievers: idList.optional(),
    base_template_id: z.string().regex(new RegExp(ULID)).nullable().optional(),
    changelog: z.string().refine(wf).refine((s) => s.length <= 10000 || scalars(s) <= 10000).nullable().optional(),
    is_public: z.boolean().optional(),
    tags: z.array(z.string().min(1).regex(new RegExp(TRIMMED, "u")).refine((s) => s.length <= 64 || scalars(s) <= 64))
      .max(32).refine(distinctCI, "duplicate").nullable().optional(),
    extra_metadata: jsonObject.refine((v) => canonicalWithin(v, 64 * 1024), "too large").nullable().optional(),
    estimated_complexity: z.number().int().min(0).max(MAX_SAFE).nullable().optional(),
  }).superRefine((d, ctx) => {
    if (hasBase(d)) return;
    const nt = d.required_tools?.length ?? 0, nr = d.required_retrievers?.length ?? 0;
    const want = { plain: [false, false], tools: [true, false], rag: [false, true], full: [true, true] }[d.workflow_type];
    if (want && ((nt > 0) !== want[0] || (nr > 0) !== want[1])) ctx.addIssue({ code: "custom", message: "workflow_type mismatch", path: ["workflow_type"] });
  });
}
