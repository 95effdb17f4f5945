//! Helpers shared by the integration tests that declare `mod support;`.

/// The CDP client lives with the workspace's end-to-end tests
/// (`tests/support/cdp.rs`) so the browser tests of this crate and of the
/// whole bot (`tests/browser_up.rs`) drive Chromium with one client.
#[path = "../../../../tests/support/cdp.rs"]
pub mod cdp;
