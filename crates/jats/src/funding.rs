//! Funding awards with funder ids, and the funding statement.

use crate::cx::Cx;
use crate::xml::Element;
use crate::{Article, Result};

/// The model's `funding`.
pub type Funding = serde_json::Value;

pub(crate) fn fill(_cx: &mut Cx<'_>, _root: &Element, _article: &mut Article) -> Result<()> {
    Ok(())
}
