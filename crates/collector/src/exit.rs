//! Exit codes: decided here and nowhere else, and listed in COLLECTOR.md.

use crate::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// A clean shutdown (SIGTERM or Ctrl-C, requests in flight finished).
    Success = 0,
    /// The collector could not start (store, address or signal handling).
    Failed = 1,
    /// Bad flags: nothing was attempted.
    Usage = 2,
}

impl Exit {
    /// The collector returns only after a clean shutdown, or when it could not start.
    pub fn of(result: &Result<(), Error>) -> Exit {
        match result {
            Ok(()) => Exit::Success,
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
    use super::*;

    #[test]
    fn a_collector_that_could_not_start_fails() {
        assert_eq!(Exit::of(&Ok(())), Exit::Success);
        let taken = Error::Listen {
            addr: "127.0.0.1:8080".parse().unwrap(),
            source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
        };
        assert_eq!(Exit::of(&Err(taken)), Exit::Failed);
    }

    #[test]
    fn codes_are_the_documented_numbers() {
        assert_eq!(
            [Exit::Success, Exit::Failed, Exit::Usage].map(|e| e as u8),
            [0, 1, 2]
        );
    }
}
