//! References of every type eLife uses, and data sets.

use crate::cx::Cx;
use crate::xml::Element;
use crate::{Article, Result};

/// One reference.
pub type Reference = serde_json::Value;

/// Generated and used data sets.
pub type DataSets = serde_json::Value;

pub(crate) fn fill(_cx: &mut Cx<'_>, _root: &Element, _article: &mut Article) -> Result<()> {
    Ok(())
}
