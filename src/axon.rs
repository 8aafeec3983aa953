//! The Axon API the reporter reads, as data: group, version and the plural of each kind.
//!
//! Axon was renamed Kelos (`kelos.dev`, more versions and kinds). Supporting it means adding
//! one more `Api` value here and choosing between them, not touching the collection code.

/// A kind the report counts. How each is aggregated lives in `collect`; where it is
/// served lives in an [`Api`] table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Task,
    TaskSpawner,
    AgentConfig,
    Workspace,
}

impl Kind {
    /// The Kubernetes kind name, as operators see it in `kubectl get`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Task => "Task",
            Kind::TaskSpawner => "TaskSpawner",
            Kind::AgentConfig => "AgentConfig",
            Kind::Workspace => "Workspace",
        }
    }
}

/// One served resource: a kind and its plural in the URL.
#[derive(Clone, Copy, Debug)]
pub struct Resource {
    pub kind: Kind,
    pub plural: &'static str,
}

/// An API group version serving the Axon kinds.
#[derive(Clone, Copy, Debug)]
pub struct Api {
    pub group: &'static str,
    pub version: &'static str,
    pub resources: &'static [Resource],
}

/// Axon's API as documented in `shared/axon-api.md`.
pub const AXON: Api = Api {
    group: "axon.io",
    version: "v1alpha1",
    resources: &[
        Resource {
            kind: Kind::Task,
            plural: "tasks",
        },
        Resource {
            kind: Kind::TaskSpawner,
            plural: "taskspawners",
        },
        Resource {
            kind: Kind::AgentConfig,
            plural: "agentconfigs",
        },
        Resource {
            kind: Kind::Workspace,
            plural: "workspaces",
        },
    ],
};

impl Api {
    /// The resource serving `kind`, if this API has it.
    pub fn resource(&self, kind: Kind) -> Option<Resource> {
        self.resources.iter().copied().find(|r| r.kind == kind)
    }

    /// The cluster-wide list path of `resource`, e.g. `/apis/axon.io/v1alpha1/tasks`.
    pub fn list_path(&self, resource: Resource) -> String {
        format!("/apis/{}/{}/{}", self.group, self.version, resource.plural)
    }

    /// The name operators know a CRD by, e.g. `tasks.axon.io`.
    pub fn crd_name(&self, resource: Resource) -> String {
        format!("{}.{}", resource.plural, self.group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axon_serves_every_kind_once() {
        for kind in [
            Kind::Task,
            Kind::TaskSpawner,
            Kind::AgentConfig,
            Kind::Workspace,
        ] {
            let served: Vec<_> = AXON.resources.iter().filter(|r| r.kind == kind).collect();
            assert_eq!(served.len(), 1, "{kind:?}");
        }
    }

    #[test]
    fn paths_and_crd_names_follow_kubernetes_conventions() {
        let tasks = AXON.resource(Kind::Task).unwrap();
        assert_eq!(AXON.list_path(tasks), "/apis/axon.io/v1alpha1/tasks");
        assert_eq!(AXON.crd_name(tasks), "tasks.axon.io");
    }
}
