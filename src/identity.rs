//! The installation ID: a random UUID kept in one ConfigMap, created on the first run and
//! then only read. Deleting the ConfigMap is how an operator asks for a new identity.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use tracing::{debug, info, warn};
use uuid::Uuid;

use crate::cluster::{self, Cluster};

/// The ConfigMap holding the ID, in the reporter's namespace.
pub const CONFIG_MAP_NAME: &str = "axon-telemetry";

/// The ConfigMap key holding the ID.
pub const ID_KEY: &str = "installationId";

/// Reads and writes before giving up when other writers keep winning the race. Two
/// reporters racing is rare; five rounds settle any real contention.
pub const MAX_ATTEMPTS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "access to ConfigMap {namespace}/{CONFIG_MAP_NAME} was forbidden: the reporter's service \
         account needs a Role in {namespace} allowing get and update on configmaps named \
         {CONFIG_MAP_NAME}, and create on configmaps (the chart creates it unless rbac.create=false)"
    )]
    Forbidden {
        namespace: String,
        #[source]
        source: cluster::Error,
    },
    #[error("could not read or write ConfigMap {namespace}/{CONFIG_MAP_NAME}")]
    Api {
        namespace: String,
        #[source]
        source: cluster::Error,
    },
    #[error(
        "ConfigMap {namespace}/{CONFIG_MAP_NAME} kept changing while it was written; gave up after {MAX_ATTEMPTS} attempts"
    )]
    Contended { namespace: String },
}

/// Where the installation ID came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallationId {
    Existing(Uuid),
    Created(Uuid),
    /// The ConfigMap held no valid ID; a new one replaced it.
    Replaced(Uuid),
    /// Dry run: no ConfigMap yet; a real run would create one.
    WouldCreate,
    /// Dry run: the ConfigMap holds no valid ID; a real run would replace it.
    WouldReplace,
}

impl InstallationId {
    /// The ID to report; the nil UUID stands in for one a dry run did not create.
    pub fn uuid(self) -> Uuid {
        match self {
            InstallationId::Existing(id)
            | InstallationId::Created(id)
            | InstallationId::Replaced(id) => id,
            InstallationId::WouldCreate | InstallationId::WouldReplace => Uuid::nil(),
        }
    }
}

/// The three operations the ID needs on its ConfigMap.
pub trait Store {
    async fn get(&self) -> Result<Option<ConfigMap>, cluster::Error>;
    async fn create(&self, map: &ConfigMap) -> Result<ConfigMap, cluster::Error>;
    async fn replace(&self, map: &ConfigMap) -> Result<ConfigMap, cluster::Error>;
}

/// The installation ID's ConfigMap in a namespace of the cluster.
pub struct ClusterStore<'a> {
    pub kube: &'a Cluster,
    pub namespace: &'a str,
}

impl Store for ClusterStore<'_> {
    async fn get(&self) -> Result<Option<ConfigMap>, cluster::Error> {
        self.kube
            .get_config_map(self.namespace, CONFIG_MAP_NAME)
            .await
    }

    async fn create(&self, map: &ConfigMap) -> Result<ConfigMap, cluster::Error> {
        self.kube.create_config_map(self.namespace, map).await
    }

    async fn replace(&self, map: &ConfigMap) -> Result<ConfigMap, cluster::Error> {
        self.kube.replace_config_map(self.namespace, map).await
    }
}

/// Reads the installation ID, creating it when absent and replacing it when invalid. A
/// concurrent writer's 409 (AlreadyExists on create, Conflict on update) means another run
/// got there first: read again and use theirs. A dry run never writes.
pub async fn get_or_create(
    store: &impl Store,
    namespace: &str,
    dry_run: bool,
) -> Result<InstallationId, Error> {
    let fail = |source: cluster::Error| match source.status_code() {
        Some(403) => Error::Forbidden {
            namespace: namespace.to_owned(),
            source,
        },
        _ => Error::Api {
            namespace: namespace.to_owned(),
            source,
        },
    };
    let place = format!("ConfigMap {namespace}/{CONFIG_MAP_NAME}");
    for _ in 0..MAX_ATTEMPTS {
        let written = match store.get().await.map_err(fail)? {
            Some(map) => match stored_id(&map) {
                Some(id) => {
                    debug!("installation ID read from {place}");
                    return Ok(InstallationId::Existing(id));
                }
                None if dry_run => {
                    info!(
                        "dry run: {place} holds no valid {ID_KEY}; a real run would replace it (the report shows the nil UUID)"
                    );
                    return Ok(InstallationId::WouldReplace);
                }
                None => {
                    let id = Uuid::new_v4();
                    store
                        .replace(&with_id(map, id))
                        .await
                        .map(|_| InstallationId::Replaced(id))
                }
            },
            None if dry_run => {
                info!(
                    "dry run: no installation ID yet; a real run would create {place} (the report shows the nil UUID)"
                );
                return Ok(InstallationId::WouldCreate);
            }
            None => {
                let id = Uuid::new_v4();
                store
                    .create(&new_config_map(id))
                    .await
                    .map(|_| InstallationId::Created(id))
            }
        };
        match written {
            Ok(written) => {
                match written {
                    InstallationId::Created(_) => {
                        info!(
                            "created installation ID in {place}; delete the ConfigMap to get a new one"
                        )
                    }
                    _ => warn!("{place} held no valid {ID_KEY}; replaced it with a new one"),
                }
                return Ok(written);
            }
            Err(e) if e.status_code() == Some(409) => {
                debug!("{place} was written by another run at the same time; reading it again");
            }
            Err(e) => return Err(fail(e)),
        }
    }
    Err(Error::Contended {
        namespace: namespace.to_owned(),
    })
}

/// A stored ID that is a UUID and not the nil UUID (which would merge installations).
fn stored_id(map: &ConfigMap) -> Option<Uuid> {
    let raw = map.data.as_ref()?.get(ID_KEY)?;
    Uuid::parse_str(raw).ok().filter(|id| !id.is_nil())
}

fn labels() -> BTreeMap<String, String> {
    [
        ("app.kubernetes.io/name", "axon-telemetry"),
        ("app.kubernetes.io/part-of", "axon"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn new_config_map(id: Uuid) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(CONFIG_MAP_NAME.to_owned()),
            labels: Some(labels()),
            ..ObjectMeta::default()
        },
        data: Some([(ID_KEY.to_owned(), id.to_string())].into()),
        ..ConfigMap::default()
    }
}

/// The same ConfigMap (its `resourceVersion` included, so a concurrent change conflicts)
/// with a new ID and our labels; other keys and labels are kept.
fn with_id(mut map: ConfigMap, id: Uuid) -> ConfigMap {
    map.data
        .get_or_insert_default()
        .insert(ID_KEY.to_owned(), id.to_string());
    map.metadata.labels.get_or_insert_default().extend(labels());
    map
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use super::*;

    /// An in-memory ConfigMap with the API server's write rules, plus scripted interference.
    type Interference = Box<dyn FnOnce(&MemoryStore)>;

    #[derive(Default)]
    struct MemoryStore {
        map: RefCell<Option<ConfigMap>>,
        version: RefCell<u64>,
        /// Run before the next writes, one each: another writer acting first.
        interference: RefCell<VecDeque<Interference>>,
        writes: RefCell<Vec<&'static str>>,
    }

    fn status(code: u16, reason: &str) -> cluster::Error {
        cluster::Error::Status {
            request: "test".into(),
            code,
            reason: reason.into(),
            message: String::new(),
        }
    }

    impl MemoryStore {
        fn holding(data: Option<(&str, &str)>) -> MemoryStore {
            let store = MemoryStore::default();
            store.put(data);
            store
        }

        fn put(&self, data: Option<(&str, &str)>) {
            *self.version.borrow_mut() += 1;
            let mut map = ConfigMap::default();
            map.metadata.name = Some(CONFIG_MAP_NAME.into());
            map.metadata.resource_version = Some(self.version.borrow().to_string());
            map.data = data.map(|(k, v)| [(k.to_owned(), v.to_owned())].into());
            *self.map.borrow_mut() = Some(map);
        }

        fn interfere(&self) {
            if let Some(other) = self.interference.borrow_mut().pop_front() {
                other(self);
            }
        }

        fn stored(&self) -> Option<String> {
            stored_id(self.map.borrow().as_ref()?).map(|id| id.to_string())
        }
    }

    impl Store for MemoryStore {
        async fn get(&self) -> Result<Option<ConfigMap>, cluster::Error> {
            Ok(self.map.borrow().clone())
        }

        async fn create(&self, map: &ConfigMap) -> Result<ConfigMap, cluster::Error> {
            self.interfere();
            self.writes.borrow_mut().push("create");
            if self.map.borrow().is_some() {
                return Err(status(409, "AlreadyExists"));
            }
            let data = map.data.as_ref().unwrap();
            self.put(Some((ID_KEY, &data[ID_KEY])));
            Ok(self.map.borrow().clone().unwrap())
        }

        async fn replace(&self, map: &ConfigMap) -> Result<ConfigMap, cluster::Error> {
            self.interfere();
            self.writes.borrow_mut().push("replace");
            let current = self
                .map
                .borrow()
                .clone()
                .ok_or_else(|| status(404, "NotFound"))?;
            if current.metadata.resource_version != map.metadata.resource_version {
                return Err(status(409, "Conflict"));
            }
            let data = map.data.as_ref().unwrap();
            self.put(Some((ID_KEY, &data[ID_KEY])));
            Ok(self.map.borrow().clone().unwrap())
        }
    }

    fn run(store: &MemoryStore, dry_run: bool) -> Result<InstallationId, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(get_or_create(store, "axon-system", dry_run))
    }

    const THEIRS: &str = "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b";

    #[test]
    fn absent_config_map_is_created_once_then_only_read() {
        let store = MemoryStore::default();
        let InstallationId::Created(id) = run(&store, false).unwrap() else {
            panic!()
        };
        assert_eq!(id.get_version_num(), 4);
        assert_eq!(store.stored(), Some(id.to_string()));
        assert_eq!(run(&store, false).unwrap(), InstallationId::Existing(id));
        assert_eq!(*store.writes.borrow(), ["create"]);
    }

    #[test]
    fn created_config_map_carries_the_id_and_our_labels() {
        let id = Uuid::parse_str(THEIRS).unwrap();
        let map = new_config_map(id);
        assert_eq!(map.metadata.name.as_deref(), Some("axon-telemetry"));
        assert_eq!(map.data.unwrap()[ID_KEY], THEIRS);
        assert_eq!(
            serde_json::to_value(map.metadata.labels).unwrap(),
            serde_json::json!({"app.kubernetes.io/name": "axon-telemetry", "app.kubernetes.io/part-of": "axon"})
        );
    }

    #[test]
    fn losing_the_create_race_uses_the_winners_id() {
        let store = MemoryStore::default();
        store
            .interference
            .borrow_mut()
            .push_back(Box::new(|s| s.put(Some((ID_KEY, THEIRS)))));
        assert_eq!(
            run(&store, false).unwrap(),
            InstallationId::Existing(THEIRS.parse().unwrap())
        );
        assert_eq!(*store.writes.borrow(), ["create"]);
    }

    #[test]
    fn missing_or_invalid_ids_are_replaced() {
        for data in [
            None,
            Some(("other", "x")),
            Some((ID_KEY, "not-a-uuid")),
            Some((ID_KEY, "00000000-0000-0000-0000-000000000000")),
        ] {
            let store = MemoryStore::holding(data);
            let InstallationId::Replaced(id) = run(&store, false).unwrap() else {
                panic!("{data:?}")
            };
            assert_eq!(store.stored(), Some(id.to_string()), "{data:?}");
        }
    }

    #[test]
    fn a_conflicting_update_rereads_and_uses_the_other_writers_id() {
        let store = MemoryStore::holding(Some((ID_KEY, "garbage")));
        store
            .interference
            .borrow_mut()
            .push_back(Box::new(|s| s.put(Some((ID_KEY, THEIRS)))));
        assert_eq!(
            run(&store, false).unwrap(),
            InstallationId::Existing(THEIRS.parse().unwrap())
        );
        assert_eq!(*store.writes.borrow(), ["replace"]);
    }

    #[test]
    fn endless_conflicts_give_up_after_the_bound() {
        let store = MemoryStore::holding(Some((ID_KEY, "garbage")));
        for _ in 0..MAX_ATTEMPTS {
            store
                .interference
                .borrow_mut()
                .push_back(Box::new(|s| s.put(Some((ID_KEY, "still-garbage")))));
        }
        let err = run(&store, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ConfigMap axon-system/axon-telemetry kept changing while it was written; gave up after 5 attempts"
        );
        assert_eq!(store.writes.borrow().len(), MAX_ATTEMPTS as usize);
    }

    #[test]
    fn dry_run_never_writes() {
        let empty = MemoryStore::default();
        assert_eq!(run(&empty, true).unwrap(), InstallationId::WouldCreate);
        let invalid = MemoryStore::holding(Some((ID_KEY, "nope")));
        assert_eq!(run(&invalid, true).unwrap(), InstallationId::WouldReplace);
        let valid = MemoryStore::holding(Some((ID_KEY, THEIRS)));
        assert_eq!(
            run(&valid, true).unwrap(),
            InstallationId::Existing(THEIRS.parse().unwrap())
        );
        assert!(empty.writes.borrow().is_empty() && invalid.writes.borrow().is_empty());
        assert_eq!(InstallationId::WouldCreate.uuid(), Uuid::nil());
    }

    #[test]
    fn other_keys_and_labels_survive_a_replacement() {
        let map = ConfigMap {
            data: Some([("note".to_owned(), "keep".to_owned())].into()),
            metadata: ObjectMeta {
                labels: Some([("team".to_owned(), "x".to_owned())].into()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        };
        let replaced = with_id(map, Uuid::parse_str(THEIRS).unwrap());
        assert_eq!(replaced.data.unwrap().len(), 2);
        assert_eq!(replaced.metadata.labels.unwrap().len(), 3);
    }
}
