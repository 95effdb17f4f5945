//! The gate of fault injection: chaos tests make the backend misbehave
//! (`pressbot-faults`, switched on by [`ENV_VAR`]), but only binaries built
//! with the cargo feature `faults` carry that code. The workspace's tests
//! enable it (crates/cli's dev-dependency); `cargo build --release` and
//! `--profile dist` do not, so a shipped binary cannot be made to fail on
//! purpose by a stray environment variable.
//!
//! A binary without the feature that finds [`ENV_VAR`] set refuses to start
//! (exit 78) rather than ignoring it: whoever set it expects faults, and a
//! chaos run that silently injected none would pass for the wrong reason.

use crate::error::{Error, Result};
use pressbot_core::backend::Backend;

/// The variable that holds the fault specification
/// (`pressbot_faults::ENV_VAR`; the same name, checked by a test, so a
/// binary without the feature still knows what to refuse).
pub const ENV_VAR: &str = "PRESSBOT_FAULTS";

/// Whether this build carries fault injection.
pub const BUILT_WITH_FAULTS: bool = cfg!(feature = "faults");

/// What a binary without fault injection says when [`ENV_VAR`] is set.
pub const REFUSAL: &str = "this binary was built without fault injection; unset PRESSBOT_FAULTS";

/// Refuse to start when [`ENV_VAR`] is set in a binary built without the
/// `faults` feature; every binary calls this first.
pub fn gate() -> Result<()> {
    gate_for(BUILT_WITH_FAULTS, std::env::var_os(ENV_VAR).is_some())
}

/// [`gate`] for a given build and environment: an [`Error::Config`] (exit
/// status 78, which systemd does not restart) naming the variable.
pub fn gate_for(built_with_faults: bool, variable_set: bool) -> Result<()> {
    if variable_set && !built_with_faults {
        return Err(Error::Config(Box::new(Error::Other(REFUSAL.to_owned()))));
    }
    Ok(())
}

/// The backend, wrapped in `pressbot_faults::FaultyBackend` when this build
/// has fault injection and [`ENV_VAR`] asks for faults.
#[cfg(feature = "faults")]
pub fn wrap(backend: Backend) -> Result<Backend> {
    pressbot_faults::wrap_from_env(backend).map_err(|e| Error::Other(e.to_string()))
}

/// The backend as it is: this build has no fault injection ([`gate`]
/// refuses the variable).
#[cfg(not(feature = "faults"))]
pub fn wrap(backend: Backend) -> Result<Backend> {
    gate()?;
    Ok(backend)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_without_faults_refuses_the_variable_with_exit_78() {
        let e = gate_for(false, true).expect_err("must refuse");
        assert_eq!(e.exit_code(), crate::EX_CONFIG);
        assert_eq!(e.to_string(), REFUSAL);
        assert!(REFUSAL.contains(ENV_VAR));
    }

    #[test]
    fn without_the_variable_or_with_the_feature_it_starts() {
        assert!(gate_for(false, false).is_ok());
        assert!(gate_for(true, false).is_ok());
        assert!(gate_for(true, true).is_ok());
    }

    #[cfg(feature = "faults")]
    #[test]
    fn the_variable_is_the_one_pressbot_faults_reads() {
        assert_eq!(ENV_VAR, pressbot_faults::ENV_VAR);
    }
}
