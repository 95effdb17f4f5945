//! Contributors: authors (people, groups, on-behalf-of), their
//! affiliations as structured addresses, editors and reviewers.

use crate::cx::Cx;
use crate::xml::Element;
use crate::{Article, Result};

/// An author: `person`, `group` or `on-behalf-of`.
pub type Author = serde_json::Value;

/// A reviewer or editor.
pub type Reviewer = serde_json::Value;

pub(crate) fn fill(_cx: &mut Cx<'_>, _root: &Element, _article: &mut Article) -> Result<()> {
    Ok(())
}
