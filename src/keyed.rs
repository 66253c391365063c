//! String-keyed maps and sets of the catalog and its stores, kept on `serde_json::Map` (a
//! B-tree of `String` to `Value`, whose code every entry of the wasm carries anyway) instead of
//! `HashMap`/`HashSet`: hashbrown instantiates its table code once per element type (seven in
//! the catalog) and brings SipHash, 13.3 KB of wasm; a `BTreeMap` per value type would cost
//! more still (BENCHMARKS.md "Size", issue 12).
//!
//! Nothing may depend on the order these iterate in: it is the order of `serde_json::Map`, key
//! order today but insertion order as soon as any crate of a build turns on serde_json's
//! `preserve_order` (Cargo unifies features). Code that promises an order sorts (import's
//! built-in statistics). Lookups are right either way. Not for maps that remove and re-insert
//! keys without end: a removed value's slot stays empty until `clear`.

use serde_json::{Map, Value};

/// A map from strings to `V`: the key's slot in the map, the values in a `Vec` (a removed
/// value leaves an empty slot until `clear`; a removed key inserted again takes a new slot).
#[derive(Clone, Debug)]
pub struct StrMap<V> {
    index: Map<String, Value>,
    slots: Vec<Option<V>>,
}

impl<V> Default for StrMap<V> {
    fn default() -> Self {
        StrMap { index: Map::new(), slots: Vec::new() }
    }
}

impl<V> StrMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&self, key: &str) -> Option<usize> {
        self.index.get(key).and_then(Value::as_u64).map(|i| i as usize)
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.slots.get(self.slot(key)?)?.as_ref()
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let i = self.slot(key)?;
        self.slots.get_mut(i)?.as_mut()
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Sets `key` to `value`; the value it had, if any.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        if let Some(slot) = self.slot(&key).and_then(|i| self.slots.get_mut(i)) {
            return slot.replace(value);
        }
        self.index.insert(key, Value::from(self.slots.len() as u64));
        self.slots.push(Some(value));
        None
    }

    /// The value at `key`, inserted as `make()` when absent.
    pub fn get_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.slot(key) {
            Some(i) => i,
            None => {
                self.index.insert(key.to_string(), Value::from(self.slots.len() as u64));
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        // `i` is always a slot of `slots` (the index only names pushed slots).
        self.slots[i].get_or_insert_with(make)
    }

    /// The value at `key`, inserted as `V::default()` when absent.
    pub fn entry_or_default(&mut self, key: &str) -> &mut V
    where
        V: Default,
    {
        self.get_or_insert_with(key, V::default)
    }

    pub fn remove(&mut self, key: &str) -> Option<V> {
        let i = self.index.remove(key)?.as_u64()? as usize;
        self.slots.get_mut(i)?.take()
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))] // IndexedDB's base hints
    pub fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
    }

    /// The entries, in the map's order (see the module note).
    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.index.iter().filter_map(|(k, i)| Some((k, self.slots.get(i.as_u64()? as usize)?.as_ref()?)))
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.index.keys()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// The entries, in the map's order (see the module note), taken out.
    pub fn into_entries(mut self) -> Vec<(String, V)> {
        let index = std::mem::take(&mut self.index);
        index.into_iter().filter_map(|(k, i)| Some((k, self.slots.get_mut(i.as_u64()? as usize)?.take()?))).collect()
    }
}

impl<V> FromIterator<(String, V)> for StrMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut m = StrMap::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

/// A set of strings.
#[derive(Clone, Debug, Default)]
pub struct StrSet(Map<String, Value>);

impl StrSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key`; false when it was already there.
    pub fn insert(&mut self, key: impl Into<String>) -> bool {
        self.0.insert(key.into(), Value::Null).is_none()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<S: Into<String>> FromIterator<S> for StrSet {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut s = StrSet::new();
        for k in iter {
            s.insert(k);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// The same answers as `BTreeMap`/`BTreeSet` over a sequence of inserts, replacements,
    /// removals and re-inserts (removed slots are never read back).
    #[test]
    fn answers_as_a_btree_map_and_set() {
        let (mut m, mut want) = (StrMap::new(), BTreeMap::new());
        let (mut s, mut want_s) = (StrSet::new(), BTreeSet::new());
        let keys = ["b", "a", "", "c", "a", "é", "b", "d"];
        for (n, k) in keys.iter().enumerate() {
            assert_eq!(m.insert(k.to_string(), n), want.insert(k.to_string(), n), "insert {k}");
            assert_eq!(s.insert(*k), want_s.insert(k.to_string()), "set insert {k}");
            if n % 3 == 2 {
                let gone = keys[n - 1];
                assert_eq!(m.remove(gone), want.remove(gone), "remove {gone}");
            }
            *m.entry_or_default("z") += 1;
            *want.entry("z".to_string()).or_default() += 1;
        }
        assert_eq!(m.remove("missing"), None);
        assert_eq!(m.len(), want.len());
        let mut got: Vec<(String, usize)> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        got.sort();
        assert_eq!(got, want.into_iter().collect::<Vec<_>>());
        assert_eq!(s.len(), want_s.len());
        assert!(keys.iter().all(|k| s.contains(k) == want_s.contains(*k)) && !s.contains("missing"));
        assert_eq!(m.clone().into_entries(), m.iter().map(|(k, v)| (k.clone(), *v)).collect::<Vec<_>>());
        assert_eq!(*m.get_or_insert_with("b", || 7), 6);
        assert_eq!(*m.get_or_insert_with("a", || 7), 7); // removed at n = 5
        assert_eq!(*m.get_or_insert_with("new", || 7), 7);
        assert_eq!(m.remove("new"), Some(7));
        assert_eq!(m.get("b"), Some(&6));
        *m.get_mut("b").unwrap() = 9;
        assert_eq!((m.get("b"), m.contains_key("b"), m.get("q")), (Some(&9), true, None));
        m.clear();
        assert!(m.len() == 0 && m.get("a").is_none() && m.keys().next().is_none());
    }
}
