//! `obj!`: a JSON object from `"key": value` pairs (values nest as `{ ... }`), as
//! `serde_json::json!` builds one but without its `to_value(..).unwrap()`. That unwrap keeps
//! `<serde_json::Error as Debug>` reachable, and with it core's Debug escaping of strings and
//! its `core::unicode::printable` tables (14 KB of wasm; BENCHMARKS.md "Size", issue 12).
//! A value that does not serialise becomes `null`: the crate only puts strings, numbers,
//! booleans, lists and string-keyed maps in these objects, which always serialise.

use serde_json::Value;

macro_rules! obj {
    ({ $($body:tt)* }) => {{
        #[allow(unused_mut)]
        let mut m = serde_json::Map::new();
        $crate::obj::obj!(@put m $($body)*);
        serde_json::Value::Object(m)
    }};
    (@put $m:ident) => {};
    (@put $m:ident $k:literal : { $($inner:tt)* } $(, $($rest:tt)*)?) => {
        $m.insert(String::from($k), $crate::obj::obj!({ $($inner)* }));
        $crate::obj::obj!(@put $m $($($rest)*)?);
    };
    (@put $m:ident $k:literal : $v:expr $(, $($rest:tt)*)?) => {
        $m.insert(String::from($k), $crate::obj::value(&$v));
        $crate::obj::obj!(@put $m $($($rest)*)?);
    };
}
pub(crate) use obj;

/// `v` as a JSON value; `null` when it does not serialise (see the module note). `obj!` also
/// builds the object `config_hash` is computed over (`hash::config_value`), so a new field type
/// that could fail to serialise must not go through it silently: debug builds (every native
/// test) stop on it.
pub fn value<T: serde::Serialize + ?Sized>(v: &T) -> Value {
    let r = serde_json::to_value(v);
    debug_assert!(r.is_ok(), "obj!: a value that does not serialise");
    r.unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    /// The same objects `json!` builds, nested ones and trailing commas included.
    #[test]
    fn builds_what_json_builds() {
        let (id, n, none, list) = ("01ARZ3NDEKTSV4RRFFQ69G5FAV", 3usize, None::<&str>, vec!["a", "b"]);
        assert_eq!(obj!({}), json!({}));
        assert_eq!(
            obj!({ "id": id, "n": n, "none": none, "list": list, "q": { "x": n + 1, "ok": true }, }),
            json!({ "id": id, "n": n, "none": none, "list": list, "q": { "x": n + 1, "ok": true } })
        );
    }
}
