//! The deep merge of `default_params` (SPEC section 5), with optional provenance tracking.

use serde_json::{Map, Value};

use super::pointer::{for_each_leaf, push_token, walks_into};

/// Merges the params of a more-derived template (`derived`) onto the inherited ones (`base`):
///
/// - objects merge key by key, recursively;
/// - an explicit `null` in `derived` removes the key (whatever it held, object or not);
/// - for scalars and arrays the derived side wins (arrays are replaced, never concatenated);
/// - a derived object over an inherited non-object (or over nothing) replaces it with the
///   derived object with its nulls stripped recursively: `null` means "remove what is
///   inherited", and where nothing is inherited, nothing is kept (`{"x": {"y": null}}` over
///   nothing gives `{"x": {}}`);
/// - a derived non-object over an inherited object replaces the whole object.
///
/// Objects nested [`super::MAX_NESTING`] levels deep or more are opaque: replaced whole,
/// not merged (and not stripped), so hostile depth cannot overflow the stack here.
/// `merge_params(x, &Map::new())` leaves `x` unchanged.
pub fn merge_params(base: &mut Map<String, Value>, derived: &Map<String, Value>) {
    let mut path = String::new();
    merge_into(base, derived, 0, &mut path, None);
}

/// Strips the nulls of an object recursively (keys whose value is null are dropped, at every
/// level; nulls inside arrays are kept, arrays being values). Objects [`super::MAX_NESTING`]
/// levels below the params object are copied as they are. `level` is that of `map` itself.
pub fn strip_nulls(map: &Map<String, Value>, level: usize) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in map {
        match v {
            Value::Null => {}
            Value::Object(m) if walks_into(level + 1) => {
                out.insert(k.clone(), Value::Object(strip_nulls(m, level + 1)));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// Provenance being built while merging the template with id `id`.
pub(crate) struct Prov<'a> {
    pub map: &'a mut super::Provenance,
    pub id: &'a str,
}

impl Prov<'_> {
    fn set(&mut self, path: &str) {
        self.map.insert(path.to_owned(), Value::String(self.id.to_owned()));
    }

    /// Removes the entry of `path` and every entry below it. The pointers that start with
    /// `path/` are contiguous in a sorted map, so this is a range walk, not a scan.
    fn remove_subtree(&mut self, path: &str) {
        self.map.remove(path);
        let prefix = format!("{path}/");
        let below: Vec<String> = self
            .map
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in below {
            self.map.remove(&k);
        }
    }

    /// Records every leaf of `v` (placed at `path`, level `level`) as supplied by this template.
    fn set_leaves(&mut self, v: &Value, level: usize, path: &mut String) {
        match v {
            Value::Object(m) if !m.is_empty() && walks_into(level) => {
                let id = self.id;
                let map = &mut *self.map;
                for_each_leaf(m, level, path, &mut |p, _| {
                    map.insert(p.to_owned(), Value::String(id.to_owned()));
                });
            }
            _ => self.set(path),
        }
    }
}

/// Merges `derived` into `base`; both are objects at `level` (params object = 0) whose pointer
/// is `path`. Recursion happens only for levels below `MAX_NESTING`.
pub(crate) fn merge_into(
    base: &mut Map<String, Value>,
    derived: &Map<String, Value>,
    level: usize,
    path: &mut String,
    mut prov: Option<&mut Prov<'_>>,
) {
    let child = level + 1;
    for (k, dv) in derived {
        let len = path.len();
        push_token(path, k);
        match dv {
            Value::Null => {
                if base.remove(k).is_some() {
                    if let Some(p) = prov.as_deref_mut() {
                        p.remove_subtree(path);
                    }
                }
            }
            Value::Object(dm) => match base.get_mut(k) {
                Some(Value::Object(bm)) if walks_into(child) => {
                    // An empty inherited object is a leaf with its own entry; take it out while
                    // merging (it may become interior) and put it back if nothing was added.
                    let was_empty = bm.is_empty();
                    let kept = match prov.as_deref_mut() {
                        Some(p) if was_empty => p.map.remove(path.as_str()),
                        _ => None,
                    };
                    merge_into(bm, dm, child, path, prov.as_deref_mut());
                    if bm.is_empty() {
                        if let Some(p) = prov.as_deref_mut() {
                            match kept {
                                // Still the same empty object: its supplier is unchanged.
                                Some(id) if was_empty => {
                                    p.map.insert(path.clone(), id);
                                }
                                // Emptied (or re-stated empty) by this template.
                                _ => p.set(path),
                            }
                        }
                    }
                }
                _ => {
                    let new = if walks_into(child) { Value::Object(strip_nulls(dm, child)) } else { dv.clone() };
                    if let Some(p) = prov.as_deref_mut() {
                        p.remove_subtree(path);
                        p.set_leaves(&new, child, path);
                    }
                    base.insert(k.clone(), new);
                }
            },
            _ => {
                if let Some(p) = prov.as_deref_mut() {
                    p.remove_subtree(path);
                    p.set(path);
                }
                base.insert(k.clone(), dv.clone());
            }
        }
        path.truncate(len);
    }
}
