//! The storage contract's records read by hand from JSON (`crate::model::read`, which says
//! why and what is accepted): what IndexedDB, localStorage and a JS adapter hand back.

use serde_json::Value;

use super::memory::Snapshot;
use super::{BuiltinStats, Rating, Stored, TemplateLabel, UsageTotals};
use crate::model::read::{Fields, FromFields, FromJson, ReadError};
use crate::model::UsageStats;

crate::record_from_json!(Rating, BuiltinStats, UsageTotals, TemplateLabel);

/// `{ rev, record }`; other members (an IndexedDB row's index keys) are ignored.
impl<T: FromJson> FromJson for Stored<T> {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        let mut f = Fields::new(v)?;
        Ok(Stored { rev: f.req("rev")?, record: f.req("record")? })
    }
}

impl FromFields for Rating {
    fn from_fields(mut f: Fields<'_>) -> Result<Self, ReadError> {
        let r = Rating { template_id: f.req("template_id")?, user_id: f.req("user_id")?, stars: f.req("stars")?, updated_at: f.req("updated_at")? };
        f.end()?;
        Ok(r)
    }
}

/// `{ id, ...statistics }` (the derive's `#[serde(flatten)]`: other members ignored).
impl FromFields for BuiltinStats {
    fn from_fields(mut f: Fields<'_>) -> Result<Self, ReadError> {
        Ok(BuiltinStats { id: f.req("id")?, stats: UsageStats::take(&mut f)? })
    }
}

impl FromFields for UsageTotals {
    fn from_fields(mut f: Fields<'_>) -> Result<Self, ReadError> {
        let t = UsageTotals {
            id: f.req("id")?,
            usage_count: f.req("usage_count")?,
            successes: f.req("successes")?,
            response_time_ms: f.req("response_time_ms")?,
            cost_sum: f.opt("cost_sum")?,
        };
        f.end()?;
        Ok(t)
    }
}

impl FromFields for TemplateLabel {
    fn from_fields(mut f: Fields<'_>) -> Result<Self, ReadError> {
        let l = TemplateLabel {
            owner_id: f.req("owner_id")?,
            name_key: f.req("name_key")?,
            label: f.req("label")?,
            template_id: f.req("template_id")?,
            version: f.req("version")?,
            updated_at: f.req("updated_at")?,
        };
        f.end()?;
        Ok(l)
    }
}

/// What the localStorage adapter persists; the two later tables may be absent.
impl FromJson for Snapshot {
    fn from_json(v: Value) -> Result<Self, ReadError> {
        let mut f = Fields::new(v)?;
        Ok(Snapshot {
            templates: f.req("templates")?,
            specs: f.req("specs")?,
            ratings: f.req("ratings")?,
            builtin_stats: f.req("builtin_stats")?,
            usage_totals: f.or_default("usage_totals")?,
            template_labels: f.or_default("template_labels")?,
        })
    }
}

/// The rows of one IndexedDB read (a JSON array of `{ rev, record }` or `null`), read straight
/// from the text: each record's members are listed as the text gives them ([`Fields::from_list`])
/// instead of first building a `Value` map, so reading a row costs what the derive did.
/// Errors: the path of the bad member (`[2].record.version: ...`) or serde_json's syntax message.
pub fn rows_from_text<T: FromFields>(text: &str) -> Result<Vec<Option<Stored<T>>>, ReadError> {
    let rows = parse_rows(text)?;
    let mut out = Vec::with_capacity(rows.0.len());
    for (i, row) in rows.0.into_iter().enumerate() {
        let at = || ["[", itoa::Buffer::new().format(i), "]"].concat();
        out.push(match row {
            None => None,
            Some(r) => Some(r.read::<T>().map_err(|e| e.under(&at()))?),
        });
    }
    Ok(out)
}

/// The parse itself, one instance for every record type.
#[inline(never)]
fn parse_rows(text: &str) -> Result<text::Rows<'_>, ReadError> {
    serde_json::from_str::<text::Rows<'_>>(text).map_err(|e| ReadError { path: String::new(), message: e.to_string() })
}

/// serde visitors for [`rows_from_text`]. Every visit a JSON document can make is written out,
/// with plain-text errors: serde's default answers (`invalid type: floating point ...`) would
/// bring `<f64 as Display>` back into the wasm (BENCHMARKS.md "Size").
mod text {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde_json::Value;

    use super::{FromFields, ReadError, Stored};
    use crate::model::read::{FromJson, Fields};

    macro_rules! refuse_scalars {
        ($what:literal) => {
            fn visit_bool<E: Error>(self, _: bool) -> Result<Self::Value, E> {
                Err(E::custom($what))
            }
            fn visit_i64<E: Error>(self, _: i64) -> Result<Self::Value, E> {
                Err(E::custom($what))
            }
            fn visit_u64<E: Error>(self, _: u64) -> Result<Self::Value, E> {
                Err(E::custom($what))
            }
            fn visit_f64<E: Error>(self, _: f64) -> Result<Self::Value, E> {
                Err(E::custom($what))
            }
            fn visit_str<E: Error>(self, _: &str) -> Result<Self::Value, E> {
                Err(E::custom($what))
            }
        };
    }

    /// `[row or null, ...]`
    pub struct Rows<'a>(pub Vec<Option<Row<'a>>>);

    /// A row: its revision (as given) and its record's members, or the record when it is not an
    /// object (then reading it reports what it is).
    pub struct Row<'a> {
        rev: Option<Value>,
        record: Option<Record<'a>>,
    }

    enum Record<'a> {
        Members(Vec<(Cow<'a, str>, Value)>),
        Other(Value),
    }

    impl Row<'_> {
        pub fn read<T: FromFields>(self) -> Result<Stored<T>, ReadError> {
            let rev = match self.rev {
                Some(v) => u64::from_json(v).map_err(|e| e.under("rev"))?,
                None => return Err(ReadError { path: String::new(), message: "missing field `rev`".into() }),
            };
            let record = match self.record {
                Some(Record::Members(m)) => Fields::from_list(m).and_then(T::from_fields),
                Some(Record::Other(v)) => Fields::new(v).and_then(T::from_fields),
                None => return Err(ReadError { path: String::new(), message: "missing field `record`".into() }),
            };
            Ok(Stored { rev, record: record.map_err(|e| e.under("record"))? })
        }
    }

    impl<'de> serde::Deserialize<'de> for Rows<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Rows<'de>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an array of rows")
                }
                refuse_scalars!("the rows must be an array");
                fn visit_unit<E: Error>(self) -> Result<Rows<'de>, E> {
                    Err(E::custom("the rows must be an array"))
                }
                fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Rows<'de>, A::Error> {
                    Err(A::Error::custom("the rows must be an array"))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Rows<'de>, A::Error> {
                    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                    while let Some(r) = seq.next_element_seed(RowSeed)? {
                        out.push(r);
                    }
                    Ok(Rows(out))
                }
            }
            d.deserialize_any(V)
        }
    }

    struct RowSeed;

    impl<'de> DeserializeSeed<'de> for RowSeed {
        type Value = Option<Row<'de>>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Row<'de>>, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for RowSeed {
        type Value = Option<Row<'de>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a row")
        }
        refuse_scalars!("a row must be an object or null");
        fn visit_unit<E: Error>(self) -> Result<Option<Row<'de>>, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Option<Row<'de>>, A::Error> {
            Err(A::Error::custom("a row must be an object or null"))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Row<'de>>, A::Error> {
            let mut row = Row { rev: None, record: None };
            while let Some(k) = map.next_key_seed(Key)? {
                match k.as_ref() {
                    "rev" if row.rev.is_none() => row.rev = Some(map.next_value::<Value>()?),
                    "record" if row.record.is_none() => row.record = Some(map.next_value_seed(RecordSeed)?),
                    "rev" | "record" => return Err(A::Error::custom("a row has a duplicate member")),
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(Some(row))
        }
    }

    struct RecordSeed;

    impl<'de> DeserializeSeed<'de> for RecordSeed {
        type Value = Record<'de>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Record<'de>, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for RecordSeed {
        type Value = Record<'de>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a record")
        }
        fn visit_bool<E: Error>(self, v: bool) -> Result<Record<'de>, E> {
            Ok(Record::Other(Value::Bool(v)))
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<Record<'de>, E> {
            Ok(Record::Other(Value::from(v)))
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<Record<'de>, E> {
            Ok(Record::Other(Value::from(v)))
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<Record<'de>, E> {
            Ok(Record::Other(Value::from(v)))
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Record<'de>, E> {
            Ok(Record::Other(Value::from(v)))
        }
        fn visit_unit<E: Error>(self) -> Result<Record<'de>, E> {
            Ok(Record::Other(Value::Null))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Record<'de>, A::Error> {
            let mut out = Vec::new();
            while let Some(v) = seq.next_element::<Value>()? {
                out.push(v);
            }
            Ok(Record::Other(Value::Array(out)))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record<'de>, A::Error> {
            let mut out = Vec::with_capacity(32);
            while let Some(k) = map.next_key_seed(Key)? {
                out.push((k, map.next_value::<Value>()?));
            }
            Ok(Record::Members(out))
        }
    }

    /// An object's key (serde_json hands keys over as strings only), borrowed from the text
    /// where it holds no escape.
    struct Key;

    impl<'de> DeserializeSeed<'de> for Key {
        type Value = Cow<'de, str>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for Key {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a key")
        }
        fn visit_borrowed_str<E: Error>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
            Ok(Cow::Borrowed(v))
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Cow<'de, str>, E> {
            Ok(Cow::Owned(v.to_string()))
        }
        fn visit_string<E: Error>(self, v: String) -> Result<Cow<'de, str>, E> {
            Ok(Cow::Owned(v))
        }
    }
}
