//! The operator's API as data: each group it has been served under, its versions in order
//! of preference, and the kinds each version serves (`shared` facts: Axon's `axon.io` up
//! to v0.12.0, Kelos' `kelos.dev` since v0.13.0, `v1alpha2` since v0.40.0).
//!
//! At start the reporter asks discovery which groups and versions the cluster serves, and
//! lists every kind of each served group at its best served version ([`choose`]).

use crate::{ApiGroup, ApiVersion, Version};

/// A kind the report counts. How each is aggregated lives in `collect`; where it is
/// served lives in the [`GROUPS`] table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Task,
    TaskSpawner,
    AgentConfig,
    Workspace,
    WorkerPool,
    TaskBudget,
    TaskRecord,
    Session,
    SessionSpawner,
}

impl Kind {
    /// The Kubernetes kind name, as operators see it in `kubectl get`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Task => "Task",
            Kind::TaskSpawner => "TaskSpawner",
            Kind::AgentConfig => "AgentConfig",
            Kind::Workspace => "Workspace",
            Kind::WorkerPool => "WorkerPool",
            Kind::TaskBudget => "TaskBudget",
            Kind::TaskRecord => "TaskRecord",
            Kind::Session => "Session",
            Kind::SessionSpawner => "SessionSpawner",
        }
    }

    /// The plural in list paths and RBAC rules.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Task => "tasks",
            Kind::TaskSpawner => "taskspawners",
            Kind::AgentConfig => "agentconfigs",
            Kind::Workspace => "workspaces",
            Kind::WorkerPool => "workerpools",
            Kind::TaskBudget => "taskbudgets",
            Kind::TaskRecord => "taskrecords",
            Kind::Session => "sessions",
            Kind::SessionSpawner => "sessionspawners",
        }
    }
}

/// One served group version and the kinds it serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Api {
    pub group: ApiGroup,
    pub version: Version,
    pub kinds: &'static [Kind],
}

/// A group and its versions, best first.
#[derive(Clone, Copy, Debug)]
pub struct Group {
    pub group: ApiGroup,
    pub versions: &'static [Api],
}

/// The four kinds of every `v1alpha1`.
const V1ALPHA1_KINDS: &[Kind] = &[
    Kind::Task,
    Kind::TaskSpawner,
    Kind::AgentConfig,
    Kind::Workspace,
];

/// Every group the operator has used, in report order.
pub const GROUPS: [Group; 2] = [
    Group {
        group: ApiGroup::Axon,
        versions: &[Api {
            group: ApiGroup::Axon,
            version: Version::V1alpha1,
            kinds: V1ALPHA1_KINDS,
        }],
    },
    Group {
        group: ApiGroup::Kelos,
        // v1alpha2 first: it is the storage version, and only it shows the type of a Task
        // that runs on a WorkerPool (v1alpha1 shows `"type": ""`).
        versions: &[
            Api {
                group: ApiGroup::Kelos,
                version: Version::V1alpha2,
                // WorkerPools and TaskRecords before Tasks: a Task's type may be its
                // pool's, and its usage may already be counted from its record.
                kinds: &[
                    Kind::WorkerPool,
                    Kind::TaskRecord,
                    Kind::Task,
                    Kind::TaskSpawner,
                    Kind::AgentConfig,
                    Kind::Workspace,
                    Kind::Session,
                    Kind::SessionSpawner,
                    Kind::TaskBudget,
                ],
            },
            Api {
                group: ApiGroup::Kelos,
                version: Version::V1alpha1,
                kinds: V1ALPHA1_KINDS,
            },
        ],
    },
];

impl Api {
    /// The group version, as the report names it.
    pub fn id(&self) -> ApiVersion {
        ApiVersion {
            group: self.group,
            version: self.version,
        }
    }

    /// The cluster-wide list path of `kind`, e.g. `/apis/kelos.dev/v1alpha2/tasks`.
    pub fn list_path(&self, kind: Kind) -> String {
        format!(
            "/apis/{}/{}/{}",
            self.group.name(),
            self.version.name(),
            kind.plural()
        )
    }

    /// The name operators know a CRD by, e.g. `tasks.kelos.dev`.
    pub fn crd_name(&self, kind: Kind) -> String {
        format!("{}.{}", kind.plural(), self.group.name())
    }
}

/// For each group of [`GROUPS`] that `served(group, version)` says the cluster serves, its
/// best served version.
pub fn choose(served: impl Fn(&str, &str) -> bool) -> Vec<Api> {
    GROUPS
        .iter()
        .filter_map(|g| {
            g.versions
                .iter()
                .find(|api| served(api.group.name(), api.version.name()))
                .copied()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_serves_each_kind_at_most_once() {
        for group in GROUPS {
            for api in group.versions {
                assert_eq!(api.group, group.group);
                for kind in api.kinds {
                    let n = api.kinds.iter().filter(|k| *k == kind).count();
                    assert_eq!(n, 1, "{kind:?} in {}", api.id());
                }
            }
        }
    }

    #[test]
    fn paths_and_crd_names_follow_kubernetes_conventions() {
        let kelos = GROUPS[1].versions[0];
        assert_eq!(
            kelos.list_path(Kind::SessionSpawner),
            "/apis/kelos.dev/v1alpha2/sessionspawners"
        );
        assert_eq!(kelos.crd_name(Kind::Task), "tasks.kelos.dev");
        assert_eq!(GROUPS[0].versions[0].id().to_string(), "axon.io/v1alpha1");
    }

    #[test]
    fn the_best_served_version_of_each_group_is_chosen() {
        let ids = |served: &[&str]| -> Vec<String> {
            choose(|g, v| served.contains(&format!("{g}/{v}").as_str()))
                .iter()
                .map(|api| api.id().to_string())
                .collect()
        };
        assert_eq!(
            ids(&["kelos.dev/v1alpha1", "kelos.dev/v1alpha2"]),
            ["kelos.dev/v1alpha2"]
        );
        assert_eq!(ids(&["kelos.dev/v1alpha1"]), ["kelos.dev/v1alpha1"]);
        assert_eq!(
            ids(&["kelos.dev/v1alpha2", "axon.io/v1alpha1", "apps/v1"]),
            ["axon.io/v1alpha1", "kelos.dev/v1alpha2"]
        );
        assert_eq!(ids(&["axon.io/v1beta1", "apps/v1"]), Vec::<String>::new());
    }
}
