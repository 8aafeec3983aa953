//! Minimal, tolerant views of Axon objects, read straight from a list page.
//!
//! Only the fields the report reads are kept, and never as text: an agent type or phase
//! becomes a vocabulary value as it is read, a namespace becomes a hash, a usage value a
//! number. No tree of the object is built, and everything else is skipped unread
//! (`json`). A field with an unexpected JSON type marks its object as malformed instead of
//! failing the page: one bad object costs one object.

use std::hash::{DefaultHasher, Hash, Hasher};

use crate::json::{self, JsonType, Reader};
use crate::report::{AgentType, Phase, SessionPhase, SpawnerSource, WorkerPoolPhase};

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
        JsonType::Object => {
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
        JsonType::String => Ok(Field::Present(map(&reader.string()?))),
        kind => other(reader, kind),
    }
}

/// A string-valued field where `""` means unset, as in Go's API types.
fn non_empty<T>(reader: &mut Reader<'_>, map: impl FnOnce(&str) -> T) -> json::Result<Field<T>> {
    Ok(match text(reader, |s| (!s.is_empty()).then(|| map(s)))? {
        Field::Present(Some(value)) => Field::Present(value),
        Field::Present(None) | Field::Absent => Field::Absent,
        Field::WrongType => Field::WrongType,
    })
}

/// A value of the wrong type, or null: skipped.
fn other<T>(reader: &mut Reader<'_>, kind: JsonType) -> json::Result<Field<T>> {
    reader.skip()?;
    Ok(if kind == JsonType::Null {
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

leaf!(
    NamespaceHash,
    Hashed,
    AgentType,
    Phase,
    SessionPhase,
    WorkerPoolPhase,
    Decimal,
    Count,
    When
);

/// Which identity fields a [`Metadata`] reads besides the namespace: each costs a hash per
/// object, so only the kinds that need one read it.
pub mod read {
    /// The namespace only.
    pub const NAMESPACE: u8 = 0;
    /// And `.metadata.name` (WorkerPools: a Task names its pool).
    pub const NAME: u8 = 1;
    /// And `.metadata.uid` (Tasks: a TaskRecord names its Task's UID).
    pub const UID: u8 = 2;
}

/// An object's `.metadata`: its namespace, and the name or UID when `READ` asks for them.
#[derive(Debug, Default)]
pub struct Metadata<const READ: u8 = { read::NAMESPACE }> {
    pub namespace: Field<NamespaceHash>,
    pub name: Field<Hashed>,
    pub uid: Field<Hashed>,
}

impl<const READ: u8> WellTyped for Metadata<READ> {
    fn well_typed(&self) -> bool {
        self.namespace.well_typed() && self.name.well_typed() && self.uid.well_typed()
    }
}

impl<const READ: u8> Object for Metadata<READ> {
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
        match key {
            // `""` is no namespace.
            b"namespace" => self.namespace = non_empty(reader, NamespaceHash::of)?,
            b"name" if READ & read::NAME != 0 => self.name = non_empty(reader, Hashed::of)?,
            b"uid" if READ & read::UID != 0 => self.uid = non_empty(reader, Hashed::of)?,
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
        NamespaceHash(Hashed::of(namespace).0)
    }
}

/// A name or UID, kept only as a hash: enough to match a Task with its WorkerPool or its
/// TaskRecord, never enough to print it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Hashed(pub u64);

impl Hashed {
    pub fn of(text: &str) -> Hashed {
        let mut hasher = DefaultHasher::new();
        text.hash(&mut hasher);
        Hashed(hasher.finish())
    }
}

/// A usage value: a decimal string as the agents write it into `.status.results`, or a
/// bare JSON number. Range checks happen where the value is summed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decimal(pub f64);

impl Decimal {
    /// The field's value; a string that is not a number is of the wrong type.
    fn read(reader: &mut Reader<'_>) -> json::Result<Field<Decimal>> {
        let number = match reader.peek()? {
            JsonType::String => reader.string()?.parse().ok(),
            JsonType::Number => reader.number()?.parse().ok(),
            kind => return other(reader, kind),
        };
        Ok(number.map_or(Field::WrongType, |n| Field::Present(Decimal(n))))
    }

    /// A Kubernetes quantity (`.status.usage.costUSD`): a string such as `"1250m"`,
    /// `"12300u"`, `"1.5"` or `"1e3"`, or a JSON number (the CRD says int-or-string).
    fn read_quantity(reader: &mut Reader<'_>) -> json::Result<Field<Decimal>> {
        let number = match reader.peek()? {
            JsonType::String => quantity(&reader.string()?),
            JsonType::Number => reader.number()?.parse().ok(),
            kind => return other(reader, kind),
        };
        Ok(number.map_or(Field::WrongType, |n| Field::Present(Decimal(n))))
    }
}

/// The value of a Kubernetes quantity string: a decimal number with an optional SI
/// (`n`, `u`, `m`, `k`, `M`, `G`, `T`, `P`, `E`), binary (`Ki` … `Ei`) or exponent
/// (`e3`, `E-2`) suffix, as apimachinery's `ParseQuantity` accepts it.
pub fn quantity(text: &str) -> Option<f64> {
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let digits = number.trim_start_matches(['+', '-']);
    let shaped = number.len() - digits.len() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit())
        && digits.bytes().filter(|&b| b == b'.').count() <= 1
        && !digits.contains(['+', '-']);
    if !shaped {
        return None;
    }
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent => {
            let power = exponent.strip_prefix(['e', 'E'])?;
            let digits = power.trim_start_matches(['+', '-']);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            10f64.powi(power.parse().ok()?)
        }
    };
    Some(number.parse::<f64>().ok()? * scale)
}

/// A replica count: a whole, non-negative JSON number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Count(pub u64);

impl Count {
    fn read(reader: &mut Reader<'_>) -> json::Result<Field<Count>> {
        match reader.peek()? {
            JsonType::Number => Ok(reader
                .number()?
                .parse::<u64>()
                .map_or(Field::WrongType, |n| Field::Present(Count(n)))),
            kind => other(reader, kind),
        }
    }
}

/// Implements [`Object`] for a struct whose members are each read by one function.
macro_rules! members {
    ($ty:ty { $($key:literal => $field:ident: $read:expr),* $(,)? }) => {
        impl Object for $ty {
            fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
                match key {
                    $($key => self.$field = $read(reader)?,)*
                    _ => reader.skip()?,
                }
                Ok(())
            }
        }
    };
}

fn agent_type(reader: &mut Reader<'_>) -> json::Result<Field<AgentType>> {
    text(reader, AgentType::from_api)
}

/// A Task, as the report sees it, in any version: `v1alpha1` has only `.spec.type`.
#[derive(Debug, Default)]
pub struct Task {
    pub metadata: Field<Metadata<{ read::UID }>>,
    pub spec: Field<TaskSpec>,
    pub status: Field<TaskStatus>,
}
well_typed!(Task {
    metadata,
    spec,
    status
});
members!(Task {
    b"metadata" => metadata: object,
    b"spec" => spec: object,
    b"status" => status: object,
});

#[derive(Debug, Default)]
pub struct TaskSpec {
    /// `.spec.type`: the only one in `v1alpha1`, deprecated in `v1alpha2`.
    pub agent: Field<AgentType>,
    /// `v1alpha2` `.spec.worker`.
    pub worker: Field<Worker>,
    /// `v1alpha2` `.spec.workerPoolRef`.
    pub pool: Field<PoolRef>,
}
well_typed!(TaskSpec {
    agent,
    worker,
    pool
});
members!(TaskSpec {
    b"type" => agent: agent_type,
    b"worker" => worker: object,
    b"workerPoolRef" => pool: object,
});

/// `.spec.worker` of a Task, WorkerPool or Session: only its type is read.
#[derive(Debug, Default)]
pub struct Worker {
    pub agent: Field<AgentType>,
}
well_typed!(Worker { agent });
members!(Worker { b"type" => agent: agent_type });

/// `.spec.workerPoolRef`: the pool's name, in the Task's namespace.
#[derive(Debug, Default)]
pub struct PoolRef {
    pub name: Field<Hashed>,
}
well_typed!(PoolRef { name });
members!(PoolRef { b"name" => name: |r| non_empty(r, Hashed::of) });

#[derive(Debug, Default)]
pub struct TaskStatus {
    pub phase: Field<Phase>,
    pub results: Field<Results>,
    /// `v1alpha2` `.status.usage`.
    pub usage: Field<Usage>,
}
well_typed!(TaskStatus {
    phase,
    results,
    usage
});
members!(TaskStatus {
    b"phase" => phase: |r| text(r, Phase::from_api),
    b"results" => results: object,
    b"usage" => usage: object,
});

/// Usage values, however they were written: cost in US dollars, token counts. A bad usage
/// value is a skipped value, not a malformed object, so none of them is checked here.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    pub cost_usd: Field<Decimal>,
    pub input_tokens: Field<Decimal>,
    pub output_tokens: Field<Decimal>,
}
well_typed!(Usage {});
// `.status.usage` and a TaskRecord's `.spec.usage`.
members!(Usage {
    b"costUSD" => cost_usd: Decimal::read_quantity,
    b"inputTokens" => input_tokens: Decimal::read,
    b"outputTokens" => output_tokens: Decimal::read,
});

/// `.status.results`: only the usage keys are read. The agents write them hyphenated; the
/// underscore spellings (which only Kelos' own telemetry reads) count only when the
/// hyphenated key is absent, so a value never counts twice.
#[derive(Debug, Default)]
pub struct Results {
    hyphenated: Usage,
    underscored: Usage,
}
well_typed!(Results {});

impl Object for Results {
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
        match key {
            b"cost-usd" => self.hyphenated.cost_usd = Decimal::read(reader)?,
            b"input-tokens" => self.hyphenated.input_tokens = Decimal::read(reader)?,
            b"output-tokens" => self.hyphenated.output_tokens = Decimal::read(reader)?,
            b"cost_usd" => self.underscored.cost_usd = Decimal::read(reader)?,
            b"input_tokens" => self.underscored.input_tokens = Decimal::read(reader)?,
            b"output_tokens" => self.underscored.output_tokens = Decimal::read(reader)?,
            _ => reader.skip()?,
        }
        Ok(())
    }
}

impl Results {
    /// Each usage value under its hyphenated key, else under its underscore spelling.
    pub fn usage(&self) -> Usage {
        let pick = |hyphenated: Field<Decimal>, underscored| match hyphenated {
            Field::Absent => underscored,
            field => field,
        };
        Usage {
            cost_usd: pick(self.hyphenated.cost_usd, self.underscored.cost_usd),
            input_tokens: pick(self.hyphenated.input_tokens, self.underscored.input_tokens),
            output_tokens: pick(
                self.hyphenated.output_tokens,
                self.underscored.output_tokens,
            ),
        }
    }
}

/// A TaskSpawner, as the report sees it.
#[derive(Debug, Default)]
pub struct TaskSpawner {
    pub metadata: Field<Metadata>,
    pub spec: Field<TaskSpawnerSpec>,
}
well_typed!(TaskSpawner { metadata, spec });
members!(TaskSpawner {
    b"metadata" => metadata: object,
    b"spec" => spec: object,
});

#[derive(Debug, Default)]
pub struct TaskSpawnerSpec {
    pub when: Field<When>,
}
well_typed!(TaskSpawnerSpec { when });
members!(TaskSpawnerSpec { b"when" => when: object });

/// `.spec.when`: which keys hold a value. A key whose value is `null` is not in use.
#[derive(Debug, Default)]
pub struct When {
    /// Bit `i` set: [`SpawnerSource::ALL`]`[i]` is present.
    present: u16,
}

impl Object for When {
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
        if reader.peek()? != JsonType::Null {
            // A key that is not UTF-8 is no key this reporter knows: `other`.
            let source = SpawnerSource::from_when_key(std::str::from_utf8(key).unwrap_or(""));
            self.present |= 1 << source as u16;
        }
        reader.skip()
    }
}

impl When {
    /// The keys in use, in [`SpawnerSource::ALL`] order.
    pub fn sources(&self) -> impl Iterator<Item = SpawnerSource> + '_ {
        SpawnerSource::ALL
            .into_iter()
            .filter(|&s| self.present & (1 << s as u16) != 0)
    }

    /// The key the spawner is counted under: the first in use, else `Other`.
    pub fn source(&self) -> SpawnerSource {
        self.sources().next().unwrap_or(SpawnerSource::Other)
    }
}

/// A WorkerPool (`v1alpha2`).
#[derive(Debug, Default)]
pub struct WorkerPool {
    pub metadata: Field<Metadata<{ read::NAME }>>,
    pub spec: Field<WorkerPoolSpec>,
    pub status: Field<WorkerPoolStatus>,
}
well_typed!(WorkerPool {
    metadata,
    spec,
    status
});
members!(WorkerPool {
    b"metadata" => metadata: object,
    b"spec" => spec: object,
    b"status" => status: object,
});

#[derive(Debug, Default)]
pub struct WorkerPoolSpec {
    pub worker: Field<Worker>,
    pub replicas: Field<Count>,
}
well_typed!(WorkerPoolSpec { worker, replicas });
members!(WorkerPoolSpec {
    b"worker" => worker: object,
    b"replicas" => replicas: Count::read,
});

#[derive(Debug, Default)]
pub struct WorkerPoolStatus {
    pub phase: Field<WorkerPoolPhase>,
    pub replicas: Field<Count>,
    pub ready_replicas: Field<Count>,
}
well_typed!(WorkerPoolStatus {
    phase,
    replicas,
    ready_replicas
});
members!(WorkerPoolStatus {
    b"phase" => phase: |r| text(r, WorkerPoolPhase::from_api),
    b"replicas" => replicas: Count::read,
    b"readyReplicas" => ready_replicas: Count::read,
});

/// A Session (`v1alpha2`).
#[derive(Debug, Default)]
pub struct Session {
    pub metadata: Field<Metadata>,
    pub spec: Field<SessionSpec>,
    pub status: Field<SessionStatus>,
}
well_typed!(Session {
    metadata,
    spec,
    status
});
members!(Session {
    b"metadata" => metadata: object,
    b"spec" => spec: object,
    b"status" => status: object,
});

#[derive(Debug, Default)]
pub struct SessionSpec {
    pub worker: Field<Worker>,
}
well_typed!(SessionSpec { worker });
members!(SessionSpec { b"worker" => worker: object });

#[derive(Debug, Default)]
pub struct SessionStatus {
    pub phase: Field<SessionPhase>,
}
well_typed!(SessionStatus { phase });
members!(SessionStatus { b"phase" => phase: |r| text(r, SessionPhase::from_api) });

/// A TaskRecord (`v1alpha2`): what remains of a finished Task.
#[derive(Debug, Default)]
pub struct TaskRecord {
    pub metadata: Field<Metadata>,
    pub spec: Field<TaskRecordSpec>,
}
well_typed!(TaskRecord { metadata, spec });
members!(TaskRecord {
    b"metadata" => metadata: object,
    b"spec" => spec: object,
});

#[derive(Debug, Default)]
pub struct TaskRecordSpec {
    pub task_ref: Field<TaskRef>,
    pub usage: Field<Usage>,
}
well_typed!(TaskRecordSpec { task_ref, usage });
members!(TaskRecordSpec {
    b"taskRef" => task_ref: object,
    b"usage" => usage: object,
});

/// `.spec.taskRef`: only the Task's UID is read.
#[derive(Debug, Default)]
pub struct TaskRef {
    pub uid: Field<Hashed>,
}
well_typed!(TaskRef { uid });
members!(TaskRef { b"uid" => uid: |r| non_empty(r, Hashed::of) });

/// An object that is only counted (AgentConfig, Workspace, SessionSpawner, TaskBudget).
#[derive(Debug, Default)]
pub struct Counted {
    pub metadata: Field<Metadata>,
}
well_typed!(Counted { metadata });
members!(Counted { b"metadata" => metadata: object });

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

/// How far from the end of a page [`peek_continue`] looks for the List's `metadata`: it is
/// the last member in lists of custom resources (Go sorts unstructured keys) and a few
/// hundred bytes long.
const PEEK_WINDOW: usize = 4096;

/// The continue token of a page, read from the List's own top-level `metadata` without
/// decoding the items, so that the next page can be fetched while this one is decoded.
///
/// Typed lists put `metadata` before `items`: it is read from the start of the page, up to
/// `items`. Lists of custom resources put it last: it is the object after the last
/// `"metadata":` in the page's tail, and only when that object is directly followed by the
/// page's closing brace, which makes it a member of the page's outermost object. A
/// `"continue"` key anywhere else, say in an object's annotations, is never taken for the
/// List's. `None` when neither form holds (the next page then waits for [`decode_page`],
/// which has the final word either way).
pub fn peek_continue(page: &[u8]) -> Option<String> {
    metadata_first(page).unwrap_or_else(|| metadata_last(page))
}

/// `Some(token)` when the List's `metadata` comes before its `items`; `None` when `items`
/// (or the end) comes first.
fn metadata_first(page: &[u8]) -> Option<Option<String>> {
    let mut reader = Reader::new(page);
    let mut found = None;
    // `items` stops the walk with an error of its own making; only `found` matters.
    let _ = reader.object(|reader, key| match key {
        b"items" => reader.error(json::Expected::ItemsMember),
        b"metadata" => {
            let mut meta = ListMeta::default();
            reader.object(|reader, key| meta.member(reader, key))?;
            found = Some(meta.continue_token);
            reader.error(json::Expected::ItemsMember)
        }
        _ => reader.skip(),
    });
    found
}

/// The token of the `metadata` object that ends the page, if it does.
fn metadata_last(page: &[u8]) -> Option<String> {
    const KEY: &[u8] = br#""metadata":"#;
    let start = page.len().saturating_sub(PEEK_WINDOW);
    let at = start + page[start..].windows(KEY.len()).rposition(|w| w == KEY)? + KEY.len();
    let mut reader = Reader::new(&page[at..]);
    let mut meta = ListMeta::default();
    reader.object(|reader, key| meta.member(reader, key)).ok()?;
    // The page's outermost object closes right after it: nothing else may follow.
    reader.object_end().ok()?;
    reader.end().ok()?;
    meta.continue_token.filter(|t| !t.is_empty())
}

/// Decodes one `List` page, handing each item to `tally` as it is read.
pub fn decode_page<T: Tally>(page: &[u8], tally: &mut T) -> json::Result<PageMeta> {
    let mut reader = Reader::new(page);
    let mut items = None;
    let mut continue_token = None;
    reader.object(|reader, key| {
        match key {
            b"items" => items = Some(decode_items(reader, tally)?),
            // A List's metadata and its continue token decide whether more pages follow: a
            // wrong type there fails the page rather than ending the list early.
            b"metadata" => match reader.peek()? {
                JsonType::Object => {
                    let mut meta = ListMeta::default();
                    reader.object(|reader, key| meta.member(reader, key))?;
                    continue_token = meta.continue_token;
                }
                _ => return reader.error(json::Expected::ListMetadata),
            },
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
        JsonType::Null => reader.skip()?,
        _ => reader.array(|reader| {
            count += 1;
            reader.peek()?;
            let start = reader.position();
            match object::<T::Object>(reader) {
                Ok(Field::Present(object)) if object.well_typed() => tally.add(object),
                Ok(_) => tally.add_malformed(),
                // An object that cannot be read (an invalid escape or UTF-8 in a field the
                // report reads) costs itself: skipped whole, its grammar checked. A page
                // whose structure is broken fails.
                Err(_) => {
                    reader.rewind(start);
                    reader.skip()?;
                    tally.add_malformed();
                }
            }
            Ok(())
        })?,
    }
    Ok(count)
}

/// A List's `.metadata`.
#[derive(Debug, Default)]
struct ListMeta {
    continue_token: Option<String>,
}
leaf!(ListMeta);

impl Object for ListMeta {
    fn member(&mut self, reader: &mut Reader<'_>, key: &[u8]) -> json::Result<()> {
        match (key, reader.peek()?) {
            (b"continue", JsonType::String) => self.continue_token = Some(reader.string()?.into()),
            (b"continue", JsonType::Null) => reader.skip()?,
            (b"continue", _) => return reader.error(json::Expected::ContinueString),
            _ => reader.skip()?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use axon_telemetry_testkit::random::Random;

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
            let cost = status
                .results
                .present()
                .unwrap_or_default()
                .usage()
                .cost_usd;
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
                 "status":{"phase":"Failed","results":{"cost-usd":"0.5","other":"x"}}}
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
                {"spec":{"type":"gemini"},"status":{"results":{"cost-usd":true}}},
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

    /// Valid JSON is read as JSON: keys written with escapes are the keys they spell.
    #[test]
    fn escaped_keys_are_the_keys_they_spell() {
        let (seen, meta) = decode(
            r#"{"\u0069tems":[
                {"sp\u0065c":{"t\u0079pe":"codex"},"status":{"ph\u0061se":"Failed"}}
            ],"metadata":{"c\u006fntinue":"next"}}"#,
        );
        assert_eq!(
            seen.tasks,
            vec![(Some(AgentType::Codex), Some(Phase::Failed), Field::Absent)]
        );
        assert_eq!(meta.continue_token.as_deref(), Some("next"));
    }

    /// An object whose fields cannot be read (invalid escapes, a lone surrogate, invalid
    /// UTF-8) costs that object, counted as malformed; the objects around it still count.
    #[test]
    fn an_unreadable_object_costs_only_itself() {
        let mut page = br#"{"items":[
            {"spec":{"type":"codex"}},
            {"metadata":{"namespace":"\ud800"}},
            {"spec":{"type":"\q"}},
            {"sp\x":{"type":"codex"}},
            {"spec":{"type":"BAD"}},
            {"spec":{"type":"gemini"}}
        ]}"#
        .to_vec();
        // Invalid UTF-8 in a field the report reads.
        let at = page.windows(3).position(|w| w == b"BAD").unwrap();
        page[at] = 0xff;
        let mut seen = Seen::default();
        let meta = decode_page(&page, &mut seen).unwrap();
        assert_eq!(meta.items, 6);
        assert_eq!(seen.malformed, 4);
        assert_eq!(
            seen.tasks,
            vec![
                (Some(AgentType::Codex), None, Field::Absent),
                (Some(AgentType::Gemini), None, Field::Absent)
            ]
        );
    }

    /// Two Tasks, the first missing two closing braces in a field the report skips and the
    /// second with two too many: counting braces alone, the two errors cancel out and the
    /// page reads as one Task (codex, with the second's phase). The skipped field's grammar
    /// is checked, so the page fails instead, saying where.
    #[test]
    fn errors_that_cancel_out_in_a_bracket_count_fail_the_page() {
        let page = br#"{"items":[{"spec":{"type":"codex"},"extra":{"a":{"b":{"c":1}},{"spec":{"type":"gemini"}}},"status":{"phase":"Failed"}}]}"#;
        let mut seen = Seen::default();
        let error = decode_page(page, &mut seen).unwrap_err();
        assert_eq!(error.to_string(), "expected a string at byte 62");
        assert_eq!(&page[62..63], b"{");
    }

    /// A continue token of the wrong type, or metadata that is not an object, would end the
    /// list after this page: the page fails instead, saying where.
    #[test]
    fn a_list_metadata_of_the_wrong_type_fails_the_page() {
        let mut seen = Seen::default();
        let cases = [
            (
                r#"{"items":[],"metadata":{"continue":42}}"#,
                "expected a string as the List's \"metadata.continue\" at byte 35",
            ),
            (
                r#"{"items":[],"metadata":{"continue":{"a":"b"}}}"#,
                "expected a string as the List's \"metadata.continue\" at byte 35",
            ),
            (
                r#"{"items":[],"metadata":{"continue":true}}"#,
                "expected a string as the List's \"metadata.continue\" at byte 35",
            ),
            (
                r#"{"items":[],"metadata":"v1"}"#,
                "expected an object as the List's \"metadata\" at byte 23",
            ),
            (
                r#"{"items":[],"metadata":null}"#,
                "expected an object as the List's \"metadata\" at byte 23",
            ),
        ];
        for (page, message) in cases {
            let error = decode_page(page.as_bytes(), &mut seen).unwrap_err();
            assert_eq!(error.to_string(), message, "{page}");
        }
        // A null token is an absent one: the last page.
        let meta = decode_page(br#"{"items":[],"metadata":{"continue":null}}"#, &mut seen).unwrap();
        assert_eq!(meta.continue_token, None);
    }

    #[derive(Default)]
    struct Sources(Vec<(Vec<SpawnerSource>, SpawnerSource)>);
    impl Tally for Sources {
        type Object = TaskSpawner;
        fn add(&mut self, spawner: TaskSpawner) {
            let when = spawner.spec.present().and_then(|s| s.when.present());
            let when = when.unwrap_or_default();
            self.0.push((when.sources().collect(), when.source()));
        }
        fn add_malformed(&mut self) {}
    }

    #[test]
    fn when_keys_with_a_value_are_sources_and_the_first_one_counts() {
        let mut sources = Sources::default();
        let page = r#"{"items":[
            {"spec":{"when":{"githubIssues":{"repo":"https://x"}}}},
            {"spec":{"when":{"cron":{"schedule":"* * * * *"},"jira":{"project":"P"}}}},
            {"spec":{"when":{"slack":{},"githubPullRequests":{},"cron":null}}},
            {"spec":{"when":{"somethingNew":{}}}},
            {"spec":{"when":{}}},
            {"spec":{}}
        ]}"#;
        decode_page(page.as_bytes(), &mut sources).unwrap();
        use SpawnerSource::*;
        assert_eq!(
            sources.0,
            vec![
                (vec![GithubIssues], GithubIssues),
                (vec![Cron, Jira], Cron),
                (vec![GithubPullRequests, Slack], GithubPullRequests),
                (vec![Other], Other),
                (vec![], Other),
                (vec![], Other)
            ]
        );
    }

    #[test]
    fn quantities_read_every_suffix_the_canonical_form_produces() {
        let cases = [
            ("1250m", 1.25),
            ("500m", 0.5),
            ("12300u", 0.0123),
            ("100n", 1e-7),
            ("1.5", 1.5),
            ("2", 2.0),
            ("0", 0.0),
            ("3k", 3000.0),
            ("2M", 2e6),
            ("1G", 1e9),
            ("1T", 1e12),
            ("1P", 1e15),
            ("1E", 1e18),
            ("1Ki", 1024.0),
            ("1Mi", 1048576.0),
            ("1e3", 1000.0),
            ("15E-1", 1.5),
            ("+5", 5.0),
            (".5", 0.5),
            ("-1", -1.0),
        ];
        for (text, want) in cases {
            let got = quantity(text).unwrap_or_else(|| panic!("{text:?} did not parse"));
            assert!(
                (got - want).abs() <= want.abs() * 1e-12,
                "{text:?}: {got} != {want}"
            );
        }
        for bad in [
            "", "m", "1.2.3", "1x", "1e", "1 m", "--1", "1ki", "abc", "1e3m",
        ] {
            assert_eq!(quantity(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn status_usage_and_results_are_read_with_their_own_keys() {
        let usage = |json: &str| {
            let mut reader = Reader::new(json.as_bytes());
            object::<Usage>(&mut reader).unwrap().present().unwrap()
        };
        assert_eq!(
            usage(r#"{"costUSD":"1250m","inputTokens":10,"outputTokens":3,"cost-usd":"9"}"#),
            Usage {
                cost_usd: Field::Present(Decimal(1.25)),
                input_tokens: Field::Present(Decimal(10.0)),
                output_tokens: Field::Present(Decimal(3.0)),
            }
        );
        assert_eq!(
            usage(r#"{"costUSD":7}"#).cost_usd,
            Field::Present(Decimal(7.0))
        );
        assert_eq!(
            usage(r#"{"costUSD":"7 dollars"}"#).cost_usd,
            Field::WrongType
        );
        let results = |json: &str| {
            let mut reader = Reader::new(json.as_bytes());
            object::<Results>(&mut reader)
                .unwrap()
                .present()
                .unwrap()
                .usage()
        };
        // Hyphenated first; an underscore spelling only where the hyphenated key is absent,
        // even when the hyphenated value is bad.
        assert_eq!(
            results(
                r#"{"cost_usd":"5","cost-usd":"x","input_tokens":"7","output-tokens":"2","output_tokens":"9"}"#
            ),
            Usage {
                cost_usd: Field::WrongType,
                input_tokens: Field::Present(Decimal(7.0)),
                output_tokens: Field::Present(Decimal(2.0)),
            }
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
    fn the_continue_token_is_peeked_from_the_lists_own_metadata() {
        let custom = br#"{"apiVersion":"axon.io/v1alpha1","items":[{"x":"y"}],"kind":"TaskList","metadata":{"continue":"eyJ2Ijo=","resourceVersion":"1"}}"#;
        assert_eq!(peek_continue(custom).as_deref(), Some("eyJ2Ijo="));
        let typed = br#"{"kind":"TaskList","apiVersion":"v1","metadata":{"resourceVersion":"1","continue":"abc"},"items":[]}"#;
        assert_eq!(peek_continue(typed).as_deref(), Some("abc"));
        // Whitespace after the page, as a proxy may add.
        let spaced = br#"{"items":[],"metadata":{"continue":"t"}}
"#;
        assert_eq!(peek_continue(spaced).as_deref(), Some("t"));
        // Far from either end of a long page.
        let mut long = br#"{"metadata":{"continue":"head"},"items":[""#.to_vec();
        long.extend(std::iter::repeat_n(b'x', 3 * PEEK_WINDOW));
        long.extend(br#""],"metadata2":{"continue":"tail"}}"#);
        assert_eq!(peek_continue(&long).as_deref(), Some("head"));
        for last in [
            &br#"{"items":[],"metadata":{"continue":""}}"#[..],
            br#"{"items":[],"metadata":{}}"#,
            b"",
        ] {
            assert_eq!(peek_continue(last), None);
        }
    }

    /// A `"continue"` key inside the objects (annotations, labels, any map) is cluster
    /// content: it is never sent back to the API server as a token.
    #[test]
    fn a_continue_key_inside_an_object_is_never_peeked() {
        let pages: [&[u8]; 4] = [
            // Typed list, the last page: its metadata has no token; the last item has one.
            br#"{"kind":"TaskList","metadata":{"resourceVersion":"1"},"items":[{"metadata":{"annotations":{"continue":"trap"}}}]}"#,
            // Custom resources: an item's nested "metadata" with a "continue" near the end.
            br#"{"apiVersion":"v1","items":[{"metadata":{"continue":"trap"}}],"kind":"TaskList","metadata":{}}"#,
            // The List's metadata itself holds a nested "metadata" object.
            br#"{"items":[],"metadata":{"resourceVersion":"1","x":{"metadata":{"continue":"trap"}}}}"#,
            // Not the end of the page: something follows the last "metadata".
            br#"{"items":[{"metadata":{"continue":"trap"}}],"kind":"TaskList"}"#,
        ];
        for page in pages {
            assert_eq!(
                peek_continue(page),
                None,
                "{}",
                String::from_utf8_lossy(page)
            );
        }
    }

    #[test]
    fn namespaces_are_hashed_consistently() {
        assert_eq!(NamespaceHash::of("team-a"), NamespaceHash::of("team-a"));
        assert_ne!(NamespaceHash::of("team-a"), NamespaceHash::of("team-b"));
    }

    /// An item as the differential test compares it: agent type, phase, namespace hash.
    type Seen3 = (Option<AgentType>, Option<Phase>, Option<u64>);

    /// What a page says, read through serde_json; `None` when it is not a JSON List.
    fn reference(page: &[u8]) -> Option<Vec<Seen3>> {
        let value: serde_json::Value = serde_json::from_slice(page).ok()?;
        let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        let items = value.get("items")?.as_array()?;
        Some(
            items
                .iter()
                .map(|item| {
                    (
                        text(&item["spec"]["type"]).map(|t| AgentType::from_api(&t)),
                        text(&item["status"]["phase"]).map(|p| Phase::from_api(&p)),
                        text(&item["metadata"]["namespace"])
                            .filter(|n| !n.is_empty())
                            .map(|n| NamespaceHash::of(&n).0),
                    )
                })
                .collect(),
        )
    }

    /// The same, read by this module, with the number of malformed items.
    fn decoded(page: &[u8]) -> json::Result<(Vec<Seen3>, u64)> {
        #[derive(Default)]
        struct All(Vec<Seen3>, u64);
        impl Tally for All {
            type Object = Task;
            fn add(&mut self, task: Task) {
                let metadata = task.metadata.present().unwrap_or_default();
                let spec = task.spec.present().unwrap_or_default();
                let status = task.status.present().unwrap_or_default();
                self.0.push((
                    spec.agent.present(),
                    status.phase.present(),
                    metadata.namespace.present().map(|n| n.0),
                ));
            }
            fn add_malformed(&mut self) {
                self.1 += 1;
            }
        }
        let mut all = All::default();
        decode_page(page, &mut all).map(|_| (all.0, all.1))
    }

    /// Random JSON text of a fixed seed, so that a failure repeats.
    struct Generator(Random);

    impl Generator {
        fn below(&mut self, n: u64) -> u64 {
            self.0.below(n)
        }

        fn space(&mut self) -> &'static str {
            [" ", "", "\n", "\t", "  \r\n"][self.below(5) as usize]
        }

        /// `text` as a JSON string, each character escaped (`\u00e9`, `\u00E9`) or not.
        fn string(&mut self, text: &str) -> String {
            let mut out = String::from('"');
            for c in text.chars() {
                match (c, self.below(4)) {
                    ('"', _) => out.push_str("\\\""),
                    ('\\', _) => out.push_str("\\\\"),
                    ('\n', _) => out.push_str("\\n"),
                    (c, 0) => out.push_str(&format!("\\u{:04x}", c as u32)),
                    (c, 1) => out.push_str(&format!("\\u{:04X}", c as u32)),
                    (c, _) => out.push(c),
                }
            }
            out.push('"');
            out
        }

        fn pick<'t>(&mut self, of: &[&'t str]) -> &'t str {
            of[self.below(of.len() as u64) as usize]
        }
    }

    /// Valid pages in many encodings: keys and values escaped or not, whitespace anywhere,
    /// numbers, literals, arrays and nested objects in skipped fields, keys in any order, and
    /// a padding field whose length puts what follows at every offset of the string search's
    /// 16-byte chunks (and of 64-byte cache lines).
    /// Read by this module and by serde_json, each page says the same. Then each page cut
    /// short or with one byte changed: never a panic, and whatever serde_json still reads as
    /// a List with well-typed objects, this module reads the same.
    #[test]
    fn pages_in_many_encodings_read_as_serde_json_reads_them() {
        const AGENTS: [&str; 5] = ["codex", "claude-code", "gemini", "other-agent", ""];
        const PHASES: [&str; 4] = ["Running", "Failed", "Waiting", "nope"];
        const NAMESPACES: [&str; 5] = ["team-a", "é-ns", "a\"quoted\\ns", "", "line\nbreak"];
        const SKIPPED: [&str; 8] = [
            "0",
            "-12.5e3",
            "1E+2",
            "true",
            "false",
            "null",
            r#"[1, [2, {"a": [3]}], "]"]"#,
            r#"{"x": {"y": "}\\\""}, "z": []}"#,
        ];
        let mut g = Generator(Random::new(0x5eed_cafe_f00d));
        let mut compared = 0;
        let mut corrupted_items = 0;
        let mut compared_pairs = 0;
        for pad in 0..64 {
            let mut items = Vec::new();
            for _ in 0..1 + g.below(6) {
                let (spec, kind, agent) = (g.string("spec"), g.string("type"), g.pick(&AGENTS));
                let agent = g.string(agent);
                let (status, phase_key, phase) =
                    (g.string("status"), g.string("phase"), g.pick(&PHASES));
                let phase = g.string(phase);
                let (metadata, name, ns_key, ns) = (
                    g.string("metadata"),
                    g.string("name"),
                    g.string("namespace"),
                    g.pick(&NAMESPACES),
                );
                let (t, ns) = (g.string("t"), g.string(ns));
                let mut members = [
                    format!("{spec}:{{{kind}:{agent}}}"),
                    format!("{status}{}:{}{{{phase_key}:{phase}}}", g.space(), g.space()),
                    format!("{metadata}:{{{name}:{t},{}{ns_key}:{ns}}}", g.space()),
                    format!("\"pad\":\"{}\"", "x".repeat(pad)),
                    format!("\"skipped\":{}", g.pick(&SKIPPED)),
                ];
                for i in (1..members.len()).rev() {
                    members.swap(i, g.below(i as u64 + 1) as usize);
                }
                let separator = format!("{},{}", g.space(), g.space());
                items.push(format!("{{{}{}}}", g.space(), members.join(&separator)));
            }
            let head = format!(
                r#"{{"apiVersion":"kelos.dev/v1alpha2",{}"items"{}:["#,
                g.space(),
                g.space()
            );
            let page = format!(
                r#"{head}{}],"metadata":{{"resourceVersion":"1"}}}}"#,
                items.join(",")
            );
            // Where each item is on the page.
            let mut spans = Vec::new();
            let mut start = head.len();
            for item in &items {
                spans.push(start..start + item.len());
                start += item.len() + 1;
            }
            let want = reference(page.as_bytes()).expect("the generator makes valid JSON");
            assert_eq!(
                decoded(page.as_bytes()).unwrap(),
                (want.clone(), 0),
                "{page}"
            );

            for at in (0..page.len()).step_by(5) {
                let mut changed = page.as_bytes().to_vec();
                changed[at] = b"{}[]\",:\\x "[g.below(10) as usize];
                let cut = page.as_bytes()[..at].to_vec();
                for broken in [cut, changed] {
                    let text = String::from_utf8_lossy(&broken);
                    let Ok((got, malformed)) = decoded(&broken) else {
                        continue;
                    };
                    if let Some(reference) = reference(&broken)
                        && malformed == 0
                    {
                        assert_eq!(got, reference, "{text}");
                        compared += 1;
                    }
                    // Read at all, a page with one byte changed still has every item but
                    // the one the byte is in exactly as before: that one may read
                    // differently or be malformed, and no other item is lost or merged.
                    let hit = spans.iter().position(|span| span.contains(&at));
                    let mut others = want.clone();
                    if let Some(k) = hit {
                        others.remove(k);
                    }
                    let mut got_others = got.clone();
                    if let Some(k) = hit.filter(|_| malformed == 0) {
                        assert_eq!(got.len(), want.len(), "{text}");
                        got_others.remove(k);
                    }
                    assert_eq!(got_others, others, "{text}");
                    assert_eq!(
                        got.len() as u64 + malformed,
                        want.len() as u64,
                        "byte {at}: {text}"
                    );
                    corrupted_items += u64::from(hit.is_some() && malformed == 1);
                }
            }
            // Two brackets changed at once, so that the two errors may cancel out in a
            // bracket count: read at all, the page has as many items as before, and every
            // item neither change is in reads as before.
            for _ in 0..400 {
                let mut broken = page.as_bytes().to_vec();
                let at =
                    [g.below(page.len() as u64), g.below(page.len() as u64)].map(|a| a as usize);
                for a in at {
                    broken[a] = b"{}[]"[g.below(4) as usize];
                }
                let Ok((got, malformed)) = decoded(&broken) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&broken);
                assert_eq!(
                    got.len() as u64 + malformed,
                    want.len() as u64,
                    "bytes {at:?}: {text}"
                );
                let untouched = (0..want.len())
                    .filter(|k| !at.iter().any(|a| spans[*k].contains(a)))
                    .map(|k| &want[k]);
                let mut rest = got.iter();
                for item in untouched {
                    assert!(
                        rest.any(|g| g == item),
                        "{item:?} lost: bytes {at:?}: {text}"
                    );
                }
                compared_pairs += 1;
            }
        }
        // Some changed bytes leave valid JSON (an `x` in a padding string, say), and some
        // make their item malformed while the page reads on.
        assert!(compared > 0);
        assert!(corrupted_items > 0);
        assert!(compared_pairs > 0);
    }
}
