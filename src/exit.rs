//! Exit codes: decided here and nowhere else, and listed in the README.

use crate::{Error, Outcome};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Sent, dry run, disabled, or (without `--strict`) not sent.
    Success = 0,
    /// The report could not be built (Kubernetes refused or failed a request).
    Failed = 1,
    /// Bad flags or configuration: nothing was attempted.
    Usage = 2,
    /// `--strict` only: the report was built but not delivered.
    NotSent = 3,
}

impl Exit {
    pub fn of(result: &Result<Outcome, Error>, strict: bool) -> Exit {
        match result {
            Ok(Outcome::NotSent) if strict => Exit::NotSent,
            Ok(_) => Exit::Success,
            Err(Error::SendSetup(_)) => Exit::Usage,
            Err(Error::Connect(
                crate::cluster::Error::NoConfig(_) | crate::cluster::Error::Client { .. },
            )) => Exit::Usage,
            Err(_) => Exit::Failed,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_failed_send_fails_the_run_only_when_strict() {
        assert_eq!(Exit::of(&Ok(Outcome::NotSent), false), Exit::Success);
        assert_eq!(Exit::of(&Ok(Outcome::NotSent), true), Exit::NotSent);
        for outcome in [Outcome::Sent, Outcome::DryRun, Outcome::Disabled] {
            assert_eq!(Exit::of(&Ok(outcome), true), Exit::Success);
        }
    }

    #[test]
    fn configuration_problems_are_usage_errors() {
        let ca = crate::send::SetupError::CaFileEmpty {
            path: "ca.pem".into(),
        };
        assert_eq!(Exit::of(&Err(Error::SendSetup(ca)), false), Exit::Usage);
    }

    #[test]
    fn cluster_failures_are_collection_failures() {
        assert_eq!(
            Exit::of(&Err(Error::Deadline(Duration::from_secs(1))), false),
            Exit::Failed
        );
        let forbidden = crate::cluster::Error::Status {
            request: "r".into(),
            code: 403,
            reason: "Forbidden".into(),
            message: "m".into(),
        };
        assert_eq!(
            Exit::of(&Err(Error::Connect(forbidden)), false),
            Exit::Failed
        );
    }

    #[test]
    fn codes_are_the_documented_numbers() {
        assert_eq!(
            [Exit::Success, Exit::Failed, Exit::Usage, Exit::NotSent].map(|e| e as u8),
            [0, 1, 2, 3]
        );
    }
}
