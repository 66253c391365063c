// Deterministic generator of realistic workflow templates (seeded PRNG, no Math.random): varied
// default_params (model settings, prompts, retrieval and tool settings, nested options, some
// non-ASCII text), tools, retrievers, tags and metadata; about 1-3 KB of JSON each.
// `drafts(n, seed, invalidRate)` also plants invalid items of many kinds (each breaks one rule
// of SPEC section 3), so that the validators are checked to agree on which items fail.

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ("agent answer assistant audit batch brief chain classify code compose context critic data " +
  "debug digest draft extract fact filter format graph guide insight intent judge kb lens lookup mapper " +
  "memo merge mentor outline planner policy qa query rank recap refine report review router scout " +
  "search sheet sketch solver sql summary support table teacher ticket trace triage tutor vision writer").split(" ");
const NONASCII = ["café", "naïve", "Zürich", "東京", "données", "résumé", "😀 friendly", "español", "Ελληνικά", "København"];
const CATEGORIES = ["general", "customer_support", "programming", "research", "data_analysis", "creative", "educational", "business", "custom"];
const TYPES = ["plain", "tools", "rag", "full"];
const TOOLS = ["web.search", "web.fetch", "code:python", "code:javascript", "calc/v2", "sql.query", "calendar.read",
  "calendar.write", "email.send", "jira:create-issue", "github:pr/comment", "slack.post", "weather", "translate",
  "image.generate", "shell.exec", "maps:geocode", "crm.lookup", "pdf.extract", "http_get"];
const RETRIEVERS = ["kb.docs", "kb.faq", "vector:products", "vector:tickets", "bm25/wiki", "sql:warehouse",
  "confluence", "gdrive", "notion.pages", "code-index"];
const TAGS = ["support", "chat", "summarize", "rag", "tools", "python", "sql", "writing", "research", "legal",
  "finance", "hr", "onboarding", "email", "translation", "qa", "eval", "beta", "internal", "production",
  "gpt", "claude", "local", "fast", "cheap", "long-context", "multilingual", "vision", "agents", "experimental"];
const MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "claude-3-haiku", "llama-3.1-70b", "mistral-large", "gemini-1.5-pro"];

function helpers(r) {
  const int = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = (a) => a[Math.floor(r() * a.length)];
  const some = (a, lo, hi) => {
    const n = int(lo, hi), c = a.slice(), out = [];
    while (out.length < n && c.length) out.push(c.splice(Math.floor(r() * c.length), 1)[0]);
    return out;
  };
  const words = (lo, hi) => {
    const n = int(lo, hi), out = [];
    for (let i = 0; i < n; i++) out.push(r() < 0.03 ? pick(NONASCII) : pick(WORDS));
    return out.join(" ");
  };
  const sentence = () => { const s = words(6, 16); return s[0].toUpperCase() + s.slice(1) + "."; };
  const para = (lo, hi) => { const n = int(lo, hi), out = []; for (let i = 0; i < n; i++) out.push(sentence()); return out.join(" "); };
  return { int, pick, some, words, sentence, para };
}

function params(h, r, type) {
  const p = {
    model: { name: h.pick(MODELS), temperature: Math.round(r() * 150) / 100, top_p: Math.round(r() * 100) / 100,
      max_tokens: h.pick([256, 512, 1024, 2048, 4096, 8192]) },
    system_prompt: h.para(2, 9),
    stop: h.some(["\n\nUser:", "</answer>", "###", "END"], 0, 3),
    response_format: r() < 0.5 ? { type: "json_object", schema_version: h.int(1, 4) } : { type: "text" },
    retry: { attempts: h.int(0, 5), backoff_ms: h.int(50, 5000), jitter: r() < 0.5 },
  };
  if (type === "rag" || type === "full") {
    p.retrieval = { top_k: h.int(1, 50), min_score: Math.round(r() * 1000) / 1000, rerank: r() < 0.5,
      chunk: { size: h.pick([256, 512, 1024]), overlap: h.int(0, 128) }, filters: { lang: h.pick(["en", "fr", "de", "ja"]), since_days: h.int(1, 365) } };
  }
  if (type === "tools" || type === "full") {
    p.tool_choice = h.pick(["auto", "required", "none"]);
    p.parallel_tool_calls = r() < 0.5;
    p.max_tool_rounds = h.int(1, 12);
  }
  if (r() < 0.5) p.examples = Array.from({ length: h.int(1, 3) }, () => ({ input: h.sentence(), output: h.sentence() }));
  if (r() < 0.3) p.variables = Object.fromEntries(h.some(["user_name", "company", "product", "tone", "language", "audience"], 1, 4).map((k) => [k, h.words(1, 3)]));
  if (r() < 0.2) p.budget = { max_cost_usd: Math.round(r() * 1000) / 100, max_tokens_per_day: h.int(1000, 5_000_000) };
  return p;
}

/** One valid draft (the fields `create` takes). */
export function draft(r, i) {
  const h = helpers(r);
  const workflow_type = h.pick(TYPES);
  const tools = workflow_type === "tools" || workflow_type === "full" ? h.some(TOOLS, 1, 6) : null;
  const retrievers = workflow_type === "rag" || workflow_type === "full" ? h.some(RETRIEVERS, 1, 3) : null;
  const d = {
    name: `${h.pick(WORDS)} ${h.pick(WORDS)} ${i}`.replace(/^./, (c) => c.toUpperCase()),
    description: h.para(1, 5),
    workflow_type,
    category: h.pick(CATEGORIES),
    default_params: params(h, r, workflow_type),
    required_tools: tools ?? (r() < 0.5 ? null : []),
    required_retrievers: retrievers ?? (r() < 0.5 ? null : []),
    base_template_id: null,
    changelog: r() < 0.5 ? null : h.sentence(),
    is_public: r() < 0.6,
    tags: r() < 0.15 ? null : h.some(TAGS, 0, 8),
    extra_metadata: r() < 0.3 ? null : { author: h.words(2, 2), source: h.pick(["editor", "import", "api"]), locale: h.pick(["en-US", "fr-FR", "ja-JP"]), revision_note: h.sentence() },
    estimated_complexity: r() < 0.3 ? null : h.int(1, 10),
  };
  return d;
}

// Each breaks exactly one rule of SPEC section 3; JSON-representable so that the JSON-text path
// sees the same data. (A `__proto__` key is left out of the timed set: validateMany(array)
// rejects the whole batch for it; bench.js reports that case separately.)
const BREAKERS = [
  (d) => { d.name = " " + d.name; },                                // not trimmed
  (d) => { d.name = ""; },                                          // too short
  (d) => { d.name = "x".repeat(256); },                             // too long
  (d) => { d.name = "bad\u0007name"; },                             // control character
  (d) => { d.description = "d".repeat(10001); },                    // too long
  (d) => { d.workflow_type = "agentic"; },                          // enum
  (d) => { d.category = "misc"; },                                  // enum
  (d) => { d.default_params = [1, 2]; },                            // not an object
  (d) => { d.default_params.model.max_tokens = 2 ** 60; },          // unsafe number
  (d) => { let o = {}; d.default_params.deep = o; for (let i = 0; i < 40; i++) o = o.n = {}; }, // too deep
  (d) => { d.workflow_type = "tools"; d.required_tools = []; d.required_retrievers = null; }, // no tool
  (d) => { d.workflow_type = "plain"; d.required_tools = ["web.search"]; d.required_retrievers = null; }, // plain with tools
  (d) => { d.workflow_type = "rag"; d.required_tools = null; d.required_retrievers = ["kb.docs", "kb.docs"]; }, // duplicate
  (d) => { d.workflow_type = "tools"; d.required_tools = ["-bad tool"]; d.required_retrievers = null; }, // pattern
  (d) => { d.tags = ["Support", "support"]; },                      // duplicate case-insensitively
  (d) => { d.tags = ["ok", " padded"]; },                           // tag not trimmed
  (d) => { d.tags = ["t".repeat(65)]; },                            // tag too long
  (d) => { d.tags = Array.from({ length: 33 }, (_, i) => "tag" + i); }, // too many
  (d) => { d.extra_metadata = "text"; },                            // type
  (d) => { d.estimated_complexity = -1; },                          // range
  (d) => { d.estimated_complexity = 1.5; },                         // integer
  (d) => { d.is_public = "yes"; },                                  // type
  (d) => { d.changelog = "c".repeat(10001); },                      // too long
  (d) => { d.base_template_id = "not-a-ulid"; },                    // ULID
  (d) => { d.default_params.big = "x".repeat(270 * 1024); },       // canonical size > 256 KiB
];

/** n drafts; about `invalidRate` of them break one rule each (deterministic). */
export function drafts(n, seed = 1, invalidRate = 0.05) {
  const r = mulberry32(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const d = draft(r, i);
    if (r() < invalidRate) BREAKERS[Math.floor(r() * BREAKERS.length)](d);
    out.push(d);
  }
  return out;
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** A ULID from a millisecond time and the PRNG. */
export function ulid(ms, r) {
  let s = "";
  for (let i = 9; i >= 0; i--) { s = CROCKFORD[ms % 32] + s; ms = Math.floor(ms / 32); }
  for (let i = 0; i < 16; i++) s += CROCKFORD[Math.floor(r() * 32)];
  return s;
}

/** Users as ULIDs (deterministic). */
export const userId = (k) => "01J0BENCH" + String(k).padStart(17, "0");

/**
 * n whole records owned by `owner(i)` (valid, latest, with statistics and timestamps);
 * `hash(config)` must return the config_hash of a draft's configuration.
 */
export function records(n, { seed = 7, owner, hash, start = Date.UTC(2026, 0, 1) }) {
  const r = mulberry32(seed);
  const h = helpers(r);
  const out = [];
  for (let i = 0; i < n; i++) {
    const d = draft(r, i);
    const created = start + i * 1000;
    const uses = r() < 0.3 ? 0 : Math.floor(Math.exp(r() * 12));
    const ratings = uses === 0 ? 0 : h.int(0, Math.min(uses, 500));
    const tokens = uses * h.int(100, 4000);
    const rec = {
      ...d,
      id: ulid(created, r),
      owner_id: owner(i),
      created_at: new Date(created).toISOString(),
      updated_at: new Date(created + h.int(0, 86_400_000)).toISOString(),
      is_builtin: false, version: 1, is_latest: true,
      rating: ratings === 0 ? null : Math.round(r() * 500) / 100,
      rating_count: ratings,
      usage_count: uses,
      success_rate: uses === 0 ? null : Math.round(r() * 1000) / 1000,
      avg_response_time_ms: uses === 0 ? null : h.int(80, 20000),
      last_used_at: uses === 0 ? null : new Date(created + 86_400_000 + h.int(0, 86_400_000)).toISOString(),
      total_tokens_used: tokens,
      total_cost: Math.round(tokens * 0.002) / 1000,
      avg_tokens_per_use: uses === 0 ? null : Math.round((tokens / uses) * 100) / 100,
    };
    if (rec.required_tools === null && r() < 0) rec.required_tools = [];
    rec.config_hash = hash(rec);
    out.push(rec);
  }
  return out;
}

/** The configuration object of SPEC section 4. */
export function configOf(t) {
  const sorted = (a) => (a ?? []).slice().sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return { workflow_type: t.workflow_type, default_params: t.default_params ?? {}, required_tools: sorted(t.required_tools),
    required_retrievers: sorted(t.required_retrievers), base_template_id: t.base_template_id ?? null };
}

/** One large default_params object (~200 KB canonical), for hashing MB/s. */
export function largeParams(seed = 3) {
  const r = mulberry32(seed);
  const h = helpers(r);
  const p = {};
  for (let i = 0; p && JSON.stringify(p).length < 200_000; i++) {
    p[`section_${i}`] = { prompt: h.para(2, 6), weights: Array.from({ length: 8 }, () => Math.round(r() * 1e6) / 1e3),
      flags: { a: r() < 0.5, b: null, c: h.int(0, 1e6) }, notes: h.some(TAGS, 1, 5) };
  }
  return p;
}
