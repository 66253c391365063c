//! The crate's layers point one way (README "Layout"), bottom to top: the core (`model`,
//! `validate`, `hash`, `inherit`, the built-ins and small helpers) -> `jsval` (JS values in and
//! out, wasm32) -> `store` (the contract and its adapters) -> `catalog` -> `browser` (the runtime
//! the facade opens, wasm32) -> `wasm` (the facade). A module may name its own layer and the
//! layers below it, never one above: every `crate::`, `self::` and `super::` path of every file
//! under `src/` is resolved to the top-level module it names, `use` groups (`crate::{a, b}`),
//! paths inside macro calls and inline `mod` blocks included; comments and strings are not code.
//! A second rule makes the crate header's claim true: outside the wasm32-only modules nothing
//! names a browser type (`wasm_bindgen`, `js_sys`, `web_sys`, `JsValue`...).
//!
//! Source is tokenized by proc-macro2 (the lexer of the crate's own derive macros), read from the
//! working tree; the test runs natively only.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// Every top-level module of `src/lib.rs` and its layer (higher is above). A module missing here
/// fails `every_module_has_a_layer`: a new module is placed on purpose.
const LAYERS: &[(&str, u8)] = &[
    ("model", 0),
    ("validate", 0),
    ("hash", 0),
    ("inherit", 0),
    ("builtin", 0),
    ("error", 0),
    ("sort", 0),
    ("keyed", 0),
    ("obj", 0),
    ("jsval", 1),
    ("store", 2),
    ("catalog", 3),
    ("browser", 4),
    ("wasm", 5),
];

/// Names that mean browser types (wasm-bindgen and its companions).
const BROWSER_NAMES: &[&str] = &["wasm_bindgen", "wasm_bindgen_futures", "js_sys", "web_sys", "gloo_storage", "JsValue", "JsCast"];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// A path that names a module: the top-level module it resolves to, where it was written.
#[derive(Debug, PartialEq)]
struct Use {
    top: String,
    line: usize,
    text: String,
}

fn is_ident(t: Option<&TokenTree>, name: &str) -> bool {
    matches!(t, Some(TokenTree::Ident(i)) if i == name)
}

/// `::` at `tokens[i..]`.
fn is_path_sep(tokens: &[TokenTree], i: usize) -> bool {
    matches!((tokens.get(i), tokens.get(i + 1)), (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
        if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':')
}

/// The first identifier of each item of a `use` group `{a::b, c, d::{e}}`.
fn group_heads(stream: TokenStream) -> Vec<String> {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    let mut heads = Vec::new();
    let mut at_start = true;
    for t in &tokens {
        match t {
            TokenTree::Ident(i) if at_start => {
                heads.push(i.to_string());
                at_start = false;
            }
            TokenTree::Punct(p) if p.as_char() == ',' => at_start = true,
            TokenTree::Group(g) if at_start && g.delimiter() == Delimiter::Brace => {
                heads.extend(group_heads(g.stream()));
                at_start = false;
            }
            _ => at_start = false,
        }
    }
    heads
}

/// Every module path in `stream`, written inside module `module` (its path from the crate root).
fn uses(stream: TokenStream, module: &[String], out: &mut Vec<Use>) {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            // An inline `mod name { ... }`: its paths are relative to `module::name`.
            TokenTree::Ident(m) if m == "mod" => {
                if let (Some(TokenTree::Ident(name)), Some(TokenTree::Group(g))) = (tokens.get(i + 1), tokens.get(i + 2)) {
                    if g.delimiter() == Delimiter::Brace {
                        let mut inner = module.to_vec();
                        inner.push(name.to_string());
                        uses(g.stream(), &inner, out);
                        i += 3;
                        continue;
                    }
                }
            }
            TokenTree::Ident(start) if ["crate", "self", "super"].iter().any(|k| start == k) && !(i >= 2 && is_path_sep(&tokens, i - 2)) => {
                let line = start.span().start().line;
                let mut abs: Vec<String> = if start == "crate" { Vec::new() } else { module.to_vec() };
                let mut text = start.to_string();
                if start == "super" {
                    abs.pop();
                }
                let mut j = i + 1;
                while is_path_sep(&tokens, j) && is_ident(tokens.get(j + 2), "super") {
                    abs.pop();
                    text.push_str("::super");
                    j += 3;
                }
                // A bare `crate` or `super` (`pub(crate)`, `pub(super)`) names no module.
                if is_path_sep(&tokens, j) {
                    match tokens.get(j + 2) {
                        Some(TokenTree::Ident(seg)) => {
                            let top = abs.first().cloned().unwrap_or_else(|| seg.to_string());
                            // The rest of the path, for the message only.
                            let mut k = j;
                            while is_path_sep(&tokens, k) {
                                let Some(TokenTree::Ident(seg)) = tokens.get(k + 2) else { break };
                                text.push_str(&format!("::{seg}"));
                                k += 3;
                            }
                            out.push(Use { top, line, text });
                            j += 3;
                        }
                        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                            match abs.first() {
                                Some(top) => out.push(Use { top: top.clone(), line, text: format!("{text}::{{..}}") }),
                                None => {
                                    for head in group_heads(g.stream()).into_iter().filter(|h| h != "self" && h != "super") {
                                        out.push(Use { top: head.clone(), line, text: format!("{text}::{{{head}, ..}}") });
                                    }
                                }
                            }
                            j += 3;
                        }
                        _ => {}
                    }
                }
                i = j;
                continue;
            }
            TokenTree::Group(g) => uses(g.stream(), module, out),
            _ => {}
        }
        i += 1;
    }
}

/// Every identifier in `stream` that is one of `names`, with its line.
fn idents(stream: TokenStream, names: &[&str], out: &mut Vec<(String, usize)>) {
    for t in stream {
        match t {
            TokenTree::Ident(i) if names.iter().any(|n| i == n) => out.push((i.to_string(), i.span().start().line)),
            TokenTree::Group(g) => idents(g.stream(), names, out),
            _ => {}
        }
    }
}

/// Names of the modules a file declares only for wasm32 (`#[cfg(...target_arch = "wasm32"...)]`
/// without `not`, before `mod name;`), and whether the file itself starts with such an inner
/// attribute.
fn wasm32_only(tokens: &[TokenTree]) -> (Vec<String>, bool) {
    let is_wasm_cfg = |g: &TokenTree| match g {
        TokenTree::Group(g) if g.delimiter() == Delimiter::Bracket => {
            let s = g.stream().to_string();
            s.starts_with("cfg") && s.contains("\"wasm32\"") && !s.contains("not")
        }
        _ => false,
    };
    let is_hash = |t: Option<&TokenTree>| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == '#');
    let is_bang = |t: Option<&TokenTree>| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == '!');
    let file = is_hash(tokens.first()) && is_bang(tokens.get(1)) && tokens.get(2).is_some_and(is_wasm_cfg);
    let mut mods = Vec::new();
    for i in 0..tokens.len() {
        let (true, Some(TokenTree::Ident(name))) = (is_ident(tokens.get(i), "mod"), tokens.get(i + 1)) else { continue };
        let mut j = i;
        if j >= 1 && matches!(&tokens[j - 1], TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis) {
            j -= 1;
        }
        if j >= 1 && is_ident(tokens.get(j - 1), "pub") {
            j -= 1;
        }
        while j >= 2 && is_hash(tokens.get(j - 2)) && matches!(&tokens[j - 1], TokenTree::Group(g) if g.delimiter() == Delimiter::Bracket) {
            if is_wasm_cfg(&tokens[j - 1]) {
                mods.push(name.to_string());
            }
            j -= 2;
        }
    }
    (mods, file)
}

fn parse(path: &Path) -> TokenStream {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse().unwrap_or_else(|e| panic!("{} does not tokenize: {e:?}", path.display()))
}

/// Every `.rs` file under `src/` but `lib.rs`, with its module path (`store/indexeddb/mod.rs`
/// is `["store", "indexeddb"]`).
fn files() -> Vec<(PathBuf, Vec<String>)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    walk(&src, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .filter(|p| p != &src.join("lib.rs"))
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().with_extension("");
            let mut module: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
            if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            (p, module)
        })
        .collect()
}

fn shown(p: &Path) -> String {
    p.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(p).display().to_string()
}

/// The offences of the tree: `file:line: ...` for each path that names a layer above its file's.
fn upward_uses() -> Vec<String> {
    let mut offences = Vec::new();
    for (path, module) in files() {
        let own = layer(&module[0]).unwrap_or(u8::MAX);
        let mut found = Vec::new();
        uses(parse(&path), &module, &mut found);
        for u in found {
            if let Some(l) = layer(&u.top) {
                if l > own {
                    offences.push(format!("{}:{}: {} (layer {own}) names {} (layer {l}): {}", shown(&path), u.line, module[0], u.top, u.text));
                }
            }
        }
    }
    offences
}

#[test]
fn no_layer_names_a_layer_above_it() {
    let offences = upward_uses();
    assert!(offences.is_empty(), "{} path(s) point up a layer (README \"Layout\"):\n{}", offences.len(), offences.join("\n"));
}

#[test]
fn every_module_has_a_layer() {
    let lib = parse(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"));
    let tokens: Vec<TokenTree> = lib.into_iter().collect();
    let declared: Vec<String> = (0..tokens.len())
        .filter(|&i| is_ident(tokens.get(i), "mod"))
        .filter_map(|i| match tokens.get(i + 1) {
            Some(TokenTree::Ident(n)) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    assert!(declared.len() >= 10, "src/lib.rs declares {declared:?}: the scan is broken");
    let missing: Vec<&String> = declared.iter().filter(|m| layer(m).is_none()).collect();
    assert!(missing.is_empty(), "modules without a layer in tests/layers.rs LAYERS: {missing:?}");
    let stale: Vec<&str> = LAYERS.iter().map(|(m, _)| *m).filter(|m| !declared.iter().any(|d| d == m)).collect();
    assert!(stale.is_empty(), "LAYERS names modules src/lib.rs does not declare: {stale:?}");
    for (path, module) in files() {
        assert!(declared.contains(&module[0]), "{} is not under a module src/lib.rs declares", shown(&path));
    }
}

#[test]
fn only_wasm32_modules_name_browser_types() {
    let mut wasm32: Vec<Vec<String>> = Vec::new();
    let lib: Vec<TokenTree> = parse(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).into_iter().collect();
    wasm32.extend(wasm32_only(&lib).0.into_iter().map(|m| vec![m]));
    let files = files();
    // Parents come before their children in sorted order (`store.rs`/`store/mod.rs` first).
    for (path, module) in &files {
        let tokens: Vec<TokenTree> = parse(path).into_iter().collect();
        let (mods, whole) = wasm32_only(&tokens);
        if whole {
            wasm32.push(module.clone());
        }
        wasm32.extend(mods.into_iter().map(|m| [module.clone(), vec![m]].concat()));
    }
    assert!(wasm32.iter().any(|m| m == &["wasm"]), "the scan did not see `wasm` declared for wasm32: {wasm32:?}");
    let mut offences = Vec::new();
    for (path, module) in &files {
        if wasm32.iter().any(|w| module.starts_with(w)) {
            continue;
        }
        let mut found = Vec::new();
        idents(parse(path), BROWSER_NAMES, &mut found);
        offences.extend(found.into_iter().map(|(name, line)| format!("{}:{line}: {name} in {}, which also builds natively", shown(path), module.join("::"))));
    }
    assert!(offences.is_empty(), "browser types outside the wasm32-only modules:\n{}", offences.join("\n"));
}

/// The scanner itself, on source written for it: what must be found is found, what is not code
/// is not.
#[test]
fn the_scanner_resolves_paths() {
    let m = |s: &str| s.split("::").map(str::to_string).collect::<Vec<_>>();
    let tops = |src: &str, module: &str| {
        let mut out = Vec::new();
        uses(src.parse().unwrap(), &m(module), &mut out);
        out.into_iter().map(|u| u.top).collect::<Vec<_>>()
    };
    assert_eq!(tops("use crate::catalog::Sort;", "store::page"), ["catalog"]);
    assert_eq!(tops("fn f(s: crate::catalog::Sort) {}", "store::indexeddb::rows"), ["catalog"]);
    assert_eq!(tops("use super::super::catalog::Sort;", "store::page"), ["catalog"]);
    // From `store::indexeddb::rows`, `super::super::catalog` would be `store::catalog`.
    assert_eq!(tops("use super::super::catalog::Sort;", "store::indexeddb::rows"), ["store"]);
    assert_eq!(tops("use super::{a, b};", "store::js"), ["store"]);
    assert_eq!(tops("use crate::{error::Error, wasm::convert::{to_js}};", "store::js"), ["error", "wasm"]);
    assert_eq!(tops("use crate::{self, {catalog::Env}};", "store"), ["catalog"]);
    assert_eq!(tops("fn f() { x!(crate::wasm::convert::to_js(&v)); }", "store::js"), ["wasm"]);
    // In an inline `mod tests` of `store`, `super::super` is the crate root; of `store::js`, `store`.
    assert_eq!(tops("mod tests { use super::super::wasm::x; }", "store"), ["wasm"]);
    assert_eq!(tops("mod tests { use super::super::wasm::x; }", "store::js"), ["store"]);
    assert_eq!(tops("pub(crate) fn f() {} pub(super) struct S; pub(in crate::store) fn g() {}", "store::js"), ["store"]);
    assert_eq!(tops("// crate::wasm::x\n/* crate::catalog */ /// crate::browser\nconst S: &str = \"crate::wasm\";", "store"), Vec::<String>::new());
    // Line numbers are the source's.
    let mut out = Vec::new();
    uses("\n\n  use crate::wasm::x;".parse().unwrap(), &m("store"), &mut out);
    assert_eq!(out[0].line, 3);
    let mut found = Vec::new();
    idents("// js_sys\nfn f(v: JsValue) { web_sys::x(); }".parse().unwrap(), BROWSER_NAMES, &mut found);
    assert_eq!(found, [("JsValue".to_string(), 2), ("web_sys".to_string(), 2)]);
    let tokens: Vec<TokenTree> = "#[cfg(target_arch = \"wasm32\")] pub mod a; #[cfg(not(target_arch = \"wasm32\"))] mod b; #[cfg(all(feature = \"x\", target_arch = \"wasm32\"))] #[doc = \"d\"] pub(crate) mod c { }".parse::<TokenStream>().unwrap().into_iter().collect();
    assert_eq!(wasm32_only(&tokens), (vec!["a".to_string(), "c".to_string()], false));
}
