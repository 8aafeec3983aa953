//! Minimal, tolerant views of Axon objects, decoded straight from a list page.
//!
//! Only the fields the report reads are kept, and never as text: an agent type or phase
//! becomes a vocabulary value as it is read, a namespace becomes a hash, a usage value a
//! number. No tree of the object is built. A field with an unexpected JSON type marks its
//! object as malformed instead of failing the page: one bad object costs one object.

use std::collections::BTreeSet;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::report::{AgentType, Phase, SourceType};

/// A field as found in an object.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Field<T> {
    /// Missing or `null`.
    #[default]
    Absent,
    Present(T),
    /// Present with a JSON type this reporter does not expect.
    WrongType,
}

impl<T> Field<T> {
    pub fn present(self) -> Option<T> {
        match self {
            Field::Present(v) => Some(v),
            Field::Absent | Field::WrongType => None,
        }
    }
}

impl<'de, T: Leaf<'de>> Field<T> {
    fn well_typed(&self) -> bool {
        match self {
            Field::Absent => true,
            Field::Present(v) => v.well_typed(),
            Field::WrongType => false,
        }
    }
}

/// How the JSON value of a field becomes `Self`; `None` means the JSON type is wrong.
pub trait Leaf<'de>: Sized {
    fn from_str(_value: &str) -> Option<Self> {
        None
    }

    fn from_number(_value: f64) -> Option<Self> {
        None
    }

    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    /// Whether the fields this value holds have the expected types.
    fn well_typed(&self) -> bool {
        true
    }
}

impl<'de, T: Leaf<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor(PhantomData))
    }
}

struct FieldVisitor<T>(PhantomData<T>);

fn field<T>(value: Option<T>) -> Field<T> {
    value.map_or(Field::WrongType, Field::Present)
}

impl<'de, T: Leaf<'de>> Visitor<'de> for FieldVisitor<T> {
    type Value = Field<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Field::Absent)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Field::Absent)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Field::WrongType)
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(field(T::from_number(v as f64)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(field(T::from_number(v as f64)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(field(T::from_number(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(field(T::from_str(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::WrongType)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(field(T::from_map(map)?))
    }
}

/// Implements [`Leaf`] for a derived struct: decoded from a JSON object, well typed when
/// each listed field is.
macro_rules! object_leaf {
    ($ty:ty { $($field:ident),* }) => {
        impl<'de> Leaf<'de> for $ty {
            fn from_map<A: MapAccess<'de>>(map: A) -> Result<Option<Self>, A::Error> {
                Self::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
            }

            fn well_typed(&self) -> bool {
                true $(&& self.$field.well_typed())*
            }
        }
    };
}

/// An object's `.metadata`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Metadata {
    pub namespace: Field<NamespaceHash>,
}
object_leaf!(Metadata { namespace });

/// A namespace, kept only as a hash: enough to count distinct namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NamespaceHash(pub u64);

impl Leaf<'_> for NamespaceHash {
    fn from_str(value: &str) -> Option<Self> {
        // A 64-bit hash: a collision among even a million namespaces has odds below 1e-7,
        // and the count is the only thing that leaves.
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        Some(NamespaceHash(hasher.finish()))
    }
}

impl Leaf<'_> for AgentType {
    fn from_str(value: &str) -> Option<Self> {
        Some(AgentType::from_api(value))
    }
}

impl Leaf<'_> for Phase {
    fn from_str(value: &str) -> Option<Self> {
        Some(Phase::from_api(value))
    }
}

/// A usage value: a decimal string as Axon writes it, or a bare JSON number. Range checks
/// happen where the value is summed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decimal(pub f64);

impl Leaf<'_> for Decimal {
    fn from_str(value: &str) -> Option<Self> {
        value.parse().ok().map(Decimal)
    }

    fn from_number(value: f64) -> Option<Self> {
        Some(Decimal(value))
    }
}

/// A Task, as the report sees it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Task {
    pub metadata: Field<Metadata>,
    pub spec: Field<TaskSpec>,
    pub status: Field<TaskStatus>,
}
object_leaf!(Task {
    metadata,
    spec,
    status
});

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskSpec {
    #[serde(rename = "type")]
    pub agent: Field<AgentType>,
}
object_leaf!(TaskSpec { agent });

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskStatus {
    pub phase: Field<Phase>,
    pub results: Field<Results>,
}
object_leaf!(TaskStatus { phase, results });

/// `.status.results`: only the three usage keys are read; a bad usage value is a skipped
/// value, not a malformed Task, so none of them is checked here.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Results {
    pub cost_usd: Field<Decimal>,
    pub input_tokens: Field<Decimal>,
    pub output_tokens: Field<Decimal>,
}
object_leaf!(Results {});

/// A TaskSpawner, as the report sees it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskSpawner {
    pub metadata: Field<Metadata>,
    pub spec: Field<TaskSpawnerSpec>,
}
object_leaf!(TaskSpawner { metadata, spec });

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaskSpawnerSpec {
    pub when: Field<When>,
}
object_leaf!(TaskSpawnerSpec { when });

/// `.spec.when`: the source types whose key holds a non-null value.
#[derive(Debug, Default)]
pub struct When(pub BTreeSet<SourceType>);

impl<'de> Leaf<'de> for When {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut sources = BTreeSet::new();
        while let Some(key) = map.next_key::<WhenKey>()? {
            if !matches!(map.next_value::<Field<Opaque>>()?, Field::Absent) {
                sources.insert(key.0);
            }
        }
        Ok(Some(When(sources)))
    }
}

/// A key of `.spec.when`, mapped to its source type without keeping the text.
struct WhenKey(SourceType);

impl<'de> Deserialize<'de> for WhenKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = WhenKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key of spec.when")
            }
            fn visit_str<E>(self, v: &str) -> Result<WhenKey, E> {
                Ok(WhenKey(SourceType::from_when_key(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A value whose content does not matter, only whether it is there.
struct Opaque;
impl Leaf<'_> for Opaque {}

/// An object that is only counted (AgentConfig, Workspace).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Counted {
    pub metadata: Field<Metadata>,
}
object_leaf!(Counted { metadata });

/// Receives the objects of a list page as they are decoded.
pub trait Tally {
    type Object: for<'de> Leaf<'de>;

    /// A well-typed object.
    fn add(&mut self, object: Self::Object);

    /// An object that is not a JSON object, or has a field of an unexpected type.
    fn add_malformed(&mut self);
}

/// What a list page says about itself.
#[derive(Debug, Default, PartialEq)]
pub struct PageMeta {
    /// Items found on the page, malformed ones included.
    pub items: u64,
    /// Where the next page starts; `None` on the last page.
    pub continue_token: Option<String>,
}

/// Decodes one `List` page, handing each item to `tally` as it is read.
pub fn decode_page<T: Tally>(page: &[u8], tally: &mut T) -> Result<PageMeta, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(page);
    let meta = PageSeed { tally }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(meta)
}

struct PageSeed<'a, T> {
    tally: &'a mut T,
}

impl<'de, T: Tally> DeserializeSeed<'de> for PageSeed<'_, T> {
    type Value = PageMeta;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<PageMeta, D::Error> {
        deserializer.deserialize_map(self)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum PageKey {
    Items,
    Metadata,
    #[serde(other)]
    Other,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ListMeta {
    #[serde(rename = "continue")]
    continue_token: Option<String>,
}

impl<'de, T: Tally> Visitor<'de> for PageSeed<'_, T> {
    type Value = PageMeta;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes List object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PageMeta, A::Error> {
        let mut items = None;
        let mut continue_token = None;
        while let Some(key) = map.next_key::<PageKey>()? {
            match key {
                PageKey::Items => {
                    items = Some(map.next_value_seed(ItemsSeed {
                        tally: &mut *self.tally,
                    })?)
                }
                PageKey::Metadata => continue_token = map.next_value::<ListMeta>()?.continue_token,
                PageKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let items = items.ok_or_else(|| de::Error::missing_field("items"))?;
        // The API server marks the last page with an absent or empty token.
        let continue_token = continue_token.filter(|t| !t.is_empty());
        Ok(PageMeta {
            items,
            continue_token,
        })
    }
}

struct ItemsSeed<'a, T> {
    tally: &'a mut T,
}

impl<'de, T: Tally> DeserializeSeed<'de> for ItemsSeed<'_, T> {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<u64, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, T: Tally> Visitor<'de> for ItemsSeed<'_, T> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_unit<E>(self) -> Result<u64, E> {
        Ok(0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut count = 0;
        while let Some(item) = seq.next_element::<Field<T::Object>>()? {
            count += 1;
            match item {
                Field::Present(object) if object.well_typed() => self.tally.add(object),
                _ => self.tally.add_malformed(),
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Seen {
        tasks: Vec<(Option<AgentType>, Option<Phase>, Field<Decimal>)>,
        malformed: u64,
    }

    impl Tally for Seen {
        type Object = Task;
        fn add(&mut self, task: Task) {
            let spec = task.spec.present().unwrap_or_default();
            let status = task.status.present().unwrap_or_default();
            let cost = status.results.present().unwrap_or_default().cost_usd;
            self.tasks
                .push((spec.agent.present(), status.phase.present(), cost));
        }
        fn add_malformed(&mut self) {
            self.malformed += 1;
        }
    }

    fn decode(page: &str) -> (Seen, PageMeta) {
        let mut seen = Seen::default();
        let meta = decode_page(page.as_bytes(), &mut seen).unwrap();
        (seen, meta)
    }

    #[test]
    fn reads_only_the_fields_the_report_needs() {
        let (seen, meta) = decode(
            r#"{"apiVersion":"axon.io/v1alpha1","items":[
                {"metadata":{"name":"t1","namespace":"a","labels":{"x":"y"}},
                 "spec":{"type":"codex","prompt":"hi","extra":[1,2,{"z":null}]},
                 "status":{"phase":"Failed","results":{"cost_usd":"0.5","other":"x"}}}
               ],"kind":"TaskList","metadata":{"continue":"abc","resourceVersion":"7"}}"#,
        );
        assert_eq!(
            seen.tasks,
            vec![(
                Some(AgentType::Codex),
                Some(Phase::Failed),
                Field::Present(Decimal(0.5))
            )]
        );
        assert_eq!(
            meta,
            PageMeta {
                items: 1,
                continue_token: Some("abc".into())
            }
        );
    }

    #[test]
    fn metadata_may_come_before_or_after_items() {
        let (_, meta) = decode(r#"{"metadata":{"continue":"tok"},"items":[]}"#);
        assert_eq!(meta.continue_token.as_deref(), Some("tok"));
    }

    #[test]
    fn an_empty_or_missing_continue_token_ends_the_list() {
        assert_eq!(
            decode(r#"{"items":[],"metadata":{"continue":""}}"#)
                .1
                .continue_token,
            None
        );
        assert_eq!(
            decode(r#"{"items":null,"metadata":{}}"#).1,
            PageMeta::default()
        );
    }

    #[test]
    fn wrong_json_types_mark_the_object_malformed_without_failing_the_page() {
        let (seen, meta) = decode(
            r#"{"items":[
                42, "text", null, [1],
                {"spec":"not-an-object"},
                {"spec":{"type":7}},
                {"status":{"phase":true}},
                {"status":{"results":["x"]}},
                {"metadata":{"namespace":{"n":1}}},
                {"spec":{"type":"gemini"},"status":{"results":{"cost_usd":true}}},
                {"spec":null,"status":{"phase":null}}
            ]}"#,
        );
        assert_eq!(meta.items, 11);
        assert_eq!(seen.malformed, 9);
        assert_eq!(
            seen.tasks,
            vec![
                (Some(AgentType::Gemini), None, Field::WrongType),
                (None, None, Field::Absent),
            ]
        );
    }

    #[test]
    fn a_page_that_is_not_a_list_is_an_error() {
        let mut seen = Seen::default();
        for page in [
            r#"{"kind":"Status"}"#,
            r#"[]"#,
            r#"{"items":{}}"#,
            r#"{"items":[]} trailing"#,
            "<html>",
        ] {
            assert!(decode_page(page.as_bytes(), &mut seen).is_err(), "{page}");
        }
    }

    #[derive(Default)]
    struct Sources(Vec<BTreeSet<SourceType>>);
    impl Tally for Sources {
        type Object = TaskSpawner;
        fn add(&mut self, spawner: TaskSpawner) {
            let when = spawner.spec.present().and_then(|s| s.when.present());
            self.0.push(when.map(|w| w.0).unwrap_or_default());
        }
        fn add_malformed(&mut self) {}
    }

    #[test]
    fn when_keys_with_a_value_are_source_types() {
        let mut sources = Sources::default();
        let page = r#"{"items":[
            {"spec":{"when":{"githubIssues":{"repo":"https://x"}}}},
            {"spec":{"when":{"cron":{"schedule":"* * * * *"},"jira":{"project":"P"}}}},
            {"spec":{"when":{"githubPullRequests":{},"cron":null}}},
            {"spec":{"when":{}}},
            {"spec":{}}
        ]}"#;
        decode_page(page.as_bytes(), &mut sources).unwrap();
        use SourceType::*;
        assert_eq!(
            sources.0,
            vec![
                [Github].into(),
                [Cron, Jira].into(),
                [Other].into(),
                BTreeSet::new(),
                BTreeSet::new()
            ]
        );
    }

    #[test]
    fn usage_values_are_decimal_strings_or_numbers() {
        assert_eq!(Decimal::from_str("12.5"), Some(Decimal(12.5)));
        assert_eq!(Decimal::from_str("abc"), None);
        assert_eq!(Decimal::from_str(""), None);
        assert_eq!(Decimal::from_number(3.0), Some(Decimal(3.0)));
        assert!(Decimal::from_str("1e400").unwrap().0.is_infinite());
    }

    #[test]
    fn namespaces_are_hashed_consistently() {
        assert_eq!(
            NamespaceHash::from_str("team-a"),
            NamespaceHash::from_str("team-a")
        );
        assert_ne!(
            NamespaceHash::from_str("team-a"),
            NamespaceHash::from_str("team-b")
        );
    }
}
