//! Minimal, tolerant views of Axon objects, read straight from a list page.
//!
//! Only the fields the report reads are kept, and never as text: an agent type or phase
//! becomes a vocabulary value as it is read, a namespace becomes a hash, a usage value a
//! number. No tree of the object is built, and everything else is skipped unread
//! (`json`). A field with an unexpected JSON type marks its object as malformed instead of
//! failing the page: one bad object costs one object.

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::json::{self, Kind, Reader};
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

impl<T: WellTyped> WellTyped for Field<T> {
    fn well_typed(&self) -> bool {
        match self {
            Field::Absent => true,
            Field::Present(v) => v.well_typed(),
            Field::WrongType => false,
        }
    }
}

/// Whether the fields a value holds have the types the report expects.
pub trait WellTyped {
    fn well_typed(&self) -> bool;
}

/// A JSON object the report reads some members of.
pub trait Object: Default + WellTyped {
    /// Reads the value of member `key` if the report needs it, and skips it otherwise.
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()>;
}

/// An object-valued field.
fn object<T: Object>(reader: &mut Reader<'_>) -> json::Result<Field<T>> {
    match reader.peek()? {
        Kind::Object => {
            let mut value = T::default();
            reader.object(|reader, key| value.member(reader, key))?;
            Ok(Field::Present(value))
        }
        kind => other(reader, kind),
    }
}

/// A string-valued field, mapped as it is read.
fn text<T>(reader: &mut Reader<'_>, map: impl FnOnce(&str) -> T) -> json::Result<Field<T>> {
    match reader.peek()? {
        Kind::String => Ok(Field::Present(map(&reader.string()?))),
        kind => other(reader, kind),
    }
}

/// A value of the wrong type, or null: skipped.
fn other<T>(reader: &mut Reader<'_>, kind: Kind) -> json::Result<Field<T>> {
    reader.skip()?;
    Ok(if kind == Kind::Null {
        Field::Absent
    } else {
        Field::WrongType
    })
}

/// Implements [`WellTyped`] for a struct: well typed when each listed field is.
macro_rules! well_typed {
    ($ty:ty { $($field:ident),* }) => {
        impl WellTyped for $ty {
            fn well_typed(&self) -> bool {
                true $(&& self.$field.well_typed())*
            }
        }
    };
}

/// Values with no fields inside: always well typed once read.
macro_rules! leaf {
    ($($ty:ty),*) => {$(
        impl WellTyped for $ty {
            fn well_typed(&self) -> bool {
                true
            }
        }
    )*};
}

leaf!(NamespaceHash, AgentType, Phase, Decimal, When);

/// An object's `.metadata`.
#[derive(Debug, Default)]
pub struct Metadata {
    pub namespace: Field<NamespaceHash>,
}
well_typed!(Metadata { namespace });

impl Object for Metadata {
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
        match key {
            b"namespace" => self.namespace = text(reader, NamespaceHash::of)?,
            _ => reader.skip()?,
        }
        Ok(())
    }
}

/// A namespace, kept only as a hash: enough to count distinct namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NamespaceHash(pub u64);

impl NamespaceHash {
    pub fn of(namespace: &str) -> NamespaceHash {
        // A 64-bit hash: a collision among even a million namespaces has odds below 1e-7,
        // and the count is the only thing that leaves.
        let mut hasher = DefaultHasher::new();
        namespace.hash(&mut hasher);
        NamespaceHash(hasher.finish())
    }
}

/// A usage value: a decimal string as Axon writes it, or a bare JSON number. Range checks
/// happen where the value is summed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decimal(pub f64);

impl Decimal {
    /// The field's value; a string that is not a number is of the wrong type.
    fn read(reader: &mut Reader<'_>) -> json::Result<Field<Decimal>> {
        let number = match reader.peek()? {
            Kind::String => reader.string()?.parse().ok(),
            Kind::Number => reader.number()?.parse().ok(),
            kind => return other(reader, kind),
        };
        Ok(number.map_or(Field::WrongType, |n| Field::Present(Decimal(n))))
    }
}

/// A Task, as the report sees it.
#[derive(Debug, Default)]
pub struct Task {
    pub metadata: Field<Metadata>,
    pub spec: Field<TaskSpec>,
    pub status: Field<TaskStatus>,
}
well_typed!(Task {
    metadata,
    spec,
    status
});

impl Object for Task {
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
        match key {
            b"metadata" => self.metadata = object(reader)?,
            b"spec" => self.spec = object(reader)?,
            b"status" => self.status = object(reader)?,
            _ => reader.skip()?,
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct TaskSpec {
    /// `.spec.type`.
    pub agent: Field<AgentType>,
}
well_typed!(TaskSpec { agent });

impl Object for TaskSpec {
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
        match key {
            b"type" => self.agent = text(reader, AgentType::from_api)?,
            _ => reader.skip()?,
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct TaskStatus {
    pub phase: Field<Phase>,
    pub results: Field<Results>,
}
well_typed!(TaskStatus { phase, results });

impl Object for TaskStatus {
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
        match key {
            b"phase" => self.phase = text(reader, Phase::from_api)?,
            b"results" => self.results = object(reader)?,
            _ => reader.skip()?,
        }
        Ok(())
    }
}

/// `.status.results`: only the three usage keys are read; a bad usage value is a skipped
/// value, not a malformed Task, so none of them is checked here.
#[derive(Debug, Default)]
pub struct Results {
    pub cost_usd: Field<Decimal>,
    pub input_tokens: Field<Decimal>,
    pub output_tokens: Field<Decimal>,
}
well_typed!(Results {});

impl Object for Results {
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
        match key {
            b"cost_usd" => self.cost_usd = Decimal::read(reader)?,
            b"input_tokens" => self.input_tokens = Decimal::read(reader)?,
            b"output_tokens" => self.output_tokens = Decimal::read(reader)?,
            _ => reader.skip()?,
        }
        Ok(())
    }
}

/// A TaskSpawner, as the report sees it.
#[derive(Debug, Default)]
pub struct TaskSpawner {
    pub metadata: Field<Metadata>,
    pub spec: Field<TaskSpawnerSpec>,
}
well_typed!(TaskSpawner { metadata, spec });

impl Object for TaskSpawner {
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
        match key {
            b"metadata" => self.metadata = object(reader)?,
            b"spec" => self.spec = object(reader)?,
            _ => reader.skip()?,
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct TaskSpawnerSpec {
    pub when: Field<When>,
}
well_typed!(TaskSpawnerSpec { when });

impl Object for TaskSpawnerSpec {
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
        match key {
            b"when" => self.when = object(reader)?,
            _ => reader.skip()?,
        }
        Ok(())
    }
}

/// `.spec.when`: the source types whose key holds a non-null value.
#[derive(Debug, Default)]
pub struct When(pub BTreeSet<SourceType>);

impl Object for When {
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
        if reader.peek()? != Kind::Null {
            // A key that is not UTF-8 is no key this reporter knows: `other`.
            self.0.insert(SourceType::from_when_key(
                std::str::from_utf8(key).unwrap_or(""),
            ));
        }
        reader.skip()
    }
}

/// An object that is only counted (AgentConfig, Workspace).
#[derive(Debug, Default)]
pub struct Counted {
    pub metadata: Field<Metadata>,
}
well_typed!(Counted { metadata });

impl Object for Counted {
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
        match key {
            b"metadata" => self.metadata = object(reader)?,
            _ => reader.skip()?,
        }
        Ok(())
    }
}

/// Receives the objects of a list page as they are read.
pub trait Tally {
    type Object: Object;

    /// A well-typed object.
    fn add(&mut self, object: Self::Object);

    /// An item that is not a JSON object, or has a field of an unexpected type.
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

/// How far from either end of a page [`peek_continue`] looks for the continue token: a
/// list's `metadata` is its first key in typed lists and its last one in lists of custom
/// resources (Go sorts unstructured keys), and is a few hundred bytes long.
const PEEK_WINDOW: usize = 4096;

/// The continue token read off the ends of a page without decoding it, so that the next
/// page can be fetched while this one is decoded. A guess: [`decode_page`] has the final
/// word, and a wrong guess only costs a wasted fetch.
pub fn peek_continue(page: &[u8]) -> Option<String> {
    const KEY: &[u8] = br#""continue":""#;
    let tail = &page[page.len().saturating_sub(PEEK_WINDOW)..];
    let head = &page[..page.len().min(PEEK_WINDOW)];
    let (window, at) = find_last(tail, KEY)
        .map(|at| (tail, at))
        .or_else(|| Some((head, find_last(head, KEY)?)))?;
    let rest = &window[at + KEY.len()..];
    // Tokens are base64: a backslash means an escaped string, not worth guessing at.
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    if rest[end] != b'"' || end == 0 {
        return None;
    }
    std::str::from_utf8(&rest[..end]).ok().map(str::to_owned)
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// Decodes one `List` page, handing each item to `tally` as it is read.
pub fn decode_page<T: Tally>(page: &[u8], tally: &mut T) -> json::Result<PageMeta> {
    let mut reader = Reader::new(page);
    let mut items = None;
    let mut continue_token = None;
    reader.object(|reader, key| {
        match key {
            b"items" => items = Some(decode_items(reader, tally)?),
            b"metadata" => {
                continue_token = object::<ListMeta>(reader)?
                    .present()
                    .and_then(|m| m.continue_token)
            }
            _ => reader.skip()?,
        }
        Ok(())
    })?;
    reader.end()?;
    let items = items.ok_or(json::Error {
        at: u32::try_from(page.len()).unwrap_or(u32::MAX),
        expected: json::Expected::ItemsMember,
    })?;
    // The API server marks the last page with an absent or empty token.
    let continue_token = continue_token.filter(|t| !t.is_empty());
    Ok(PageMeta {
        items,
        continue_token,
    })
}

fn decode_items<T: Tally>(reader: &mut Reader<'_>, tally: &mut T) -> json::Result<u64> {
    let mut count = 0;
    match reader.peek()? {
        Kind::Null => reader.skip()?,
        _ => reader.array(|reader| {
            count += 1;
            match object::<T::Object>(reader)? {
                Field::Present(object) if object.well_typed() => tally.add(object),
                _ => tally.add_malformed(),
            }
            Ok(())
        })?,
    }
    Ok(count)
}

/// A List's `.metadata`.
#[derive(Default)]
struct ListMeta {
    continue_token: Option<String>,
}
leaf!(ListMeta);

impl Object for ListMeta {
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
        match key {
            b"continue" => self.continue_token = text(reader, str::to_owned)?.present(),
            _ => reader.skip()?,
        }
        Ok(())
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
        let read = |json: &str| Decimal::read(&mut Reader::new(json.as_bytes())).unwrap();
        assert_eq!(read(r#""12.5""#), Field::Present(Decimal(12.5)));
        assert_eq!(read("3"), Field::Present(Decimal(3.0)));
        assert_eq!(read(r#""abc""#), Field::WrongType);
        assert_eq!(read(r#""""#), Field::WrongType);
        assert_eq!(read("true"), Field::WrongType);
        assert_eq!(read("null"), Field::Absent);
        let Field::Present(Decimal(huge)) = read("1e400") else {
            panic!()
        };
        assert!(huge.is_infinite());
    }

    #[test]
    fn the_continue_token_is_peeked_from_either_end_of_a_page() {
        let custom = br#"{"apiVersion":"axon.io/v1alpha1","items":[{"x":"y"}],"kind":"TaskList","metadata":{"continue":"eyJ2Ijo=","resourceVersion":"1"}}"#;
        assert_eq!(peek_continue(custom).as_deref(), Some("eyJ2Ijo="));
        let typed = br#"{"kind":"TaskList","apiVersion":"v1","metadata":{"resourceVersion":"1","continue":"abc"},"items":[]}"#;
        assert_eq!(peek_continue(typed).as_deref(), Some("abc"));
        let mut long = br#"{"metadata":{"continue":"head"},"items":[""#.to_vec();
        long.extend(std::iter::repeat_n(b'x', 3 * PEEK_WINDOW));
        long.extend(br#""],"metadata2":{"continue":"tail"}}"#);
        assert_eq!(peek_continue(&long).as_deref(), Some("tail"));
        for last in [
            &br#"{"items":[],"metadata":{"continue":""}}"#[..],
            br#"{"items":[],"metadata":{}}"#,
            br#"{"metadata":{"continue":"a\u0041"}}"#,
            b"",
        ] {
            assert_eq!(peek_continue(last), None);
        }
    }

    #[test]
    fn namespaces_are_hashed_consistently() {
        assert_eq!(NamespaceHash::of("team-a"), NamespaceHash::of("team-a"));
        assert_ne!(NamespaceHash::of("team-a"), NamespaceHash::of("team-b"));
    }
}
