//! The conversion context: options, the package's files, and the warnings
//! collected on the way.

use crate::{Options, PackageFile, Warning};

/// Passed to every part of the converter.
#[derive(Debug)]
pub(crate) struct Cx<'o> {
    pub(crate) opts: &'o Options,
    /// The XML file's name, for errors.
    pub(crate) file: String,
    pub(crate) warnings: Vec<Warning>,
    /// The article's id (`00353`), once the front matter is read: image
    /// URIs on the IIIF server are `<article id>%2F<file name>`.
    pub(crate) article_id: String,
    /// The first error met where the converter cannot return one (inside
    /// the block converter, whose callers only collect blocks): the
    /// conversion fails with it at the end (see [`Cx::fail`]).
    pub(crate) deferred: Option<crate::Error>,
}

impl<'o> Cx<'o> {
    pub(crate) fn new(opts: &'o Options, file: &str) -> Self {
        Cx {
            opts,
            file: file.to_owned(),
            warnings: Vec::new(),
            article_id: String::new(),
            deferred: None,
        }
    }

    /// Record something the converter did not understand or had to leave
    /// out. `path` is the element path (`article/body/sec[2]/p[1]/foo`).
    pub(crate) fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning {
            path: path.into(),
            message: message.into(),
        });
    }

    /// A missing required element: the error that fails the workflow.
    pub(crate) fn missing(&self, element: &str) -> crate::Error {
        crate::Error::MissingElement {
            file: self.file.clone(),
            element: element.to_owned(),
        }
    }

    /// Record an error that fails the conversion once the current part is
    /// done; the first one is kept.
    pub(crate) fn fail(&mut self, error: crate::Error) {
        if self.deferred.is_none() {
            self.deferred = Some(error);
        }
    }

    /// An element whose content cannot be used.
    pub(crate) fn invalid(&self, element: &str, message: impl Into<String>) -> crate::Error {
        crate::Error::InvalidElement {
            file: self.file.clone(),
            element: element.to_owned(),
            message: message.into(),
        }
    }

    /// The package file an XML reference (`xlink:href`) points at.
    ///
    /// References are matched by file name, ignoring any folder; a reference
    /// without an extension (`elife-00353-fig1-v1`, as eLife's XML often
    /// has) matches the one package file with that stem.
    pub(crate) fn file(&self, reference: &str) -> Option<&'o PackageFile> {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        let files = &self.opts.files;
        if let Some(f) = files.iter().find(|f| f.name == name) {
            return Some(f);
        }
        let mut by_stem = files.iter().filter(|f| {
            f.name
                .rsplit_once('.')
                .is_some_and(|(stem, _)| stem == name)
        });
        match (by_stem.next(), by_stem.next()) {
            (Some(f), None) => Some(f),
            _ => None,
        }
    }
}
