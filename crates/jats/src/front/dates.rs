//! `published`, `versionDate`, `statusDate` and `volume`.
//!
//! The model: `published` (first publication) and `statusDate` are absent
//! only for a preview of version 1; `versionDate` only when the stage is
//! `published`. The XML knows one date, the `pub-date` of the first
//! publication; the date of this version comes from `Options.now` (when
//! the bot publishes it), else, for version 1, is that pub-date.

use super::META;
use crate::cx::Cx;
use crate::xml::Element;
use crate::{Article, Result, Stage};

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ymd {
    pub year: u32,
    pub month: u32,
    pub day: u32,
}

impl Ymd {
    fn new(year: u32, month: u32, day: u32) -> Option<Ymd> {
        let leap =
            year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1000..=9999).contains(&year) && (1..=days).contains(&day)).then_some(Ymd {
            year,
            month,
            day,
        })
    }

    /// The model's date-time: midnight UTC.
    pub fn iso(self) -> String {
        format!(
            "{:04}-{:02}-{:02}T00:00:00Z",
            self.year, self.month, self.day
        )
    }
}

/// The pub-date of first publication: `date-type` `pub` or `publication`
/// (elife-tools), else the older `pub-type` `epub`/`pub`. Collection
/// dates (a year only) are not publication dates.
fn pub_date_element(meta: &Element) -> Option<&Element> {
    let dates: Vec<&Element> = meta.children_named("pub-date").collect();
    let by = |attr: &str, value: &str| dates.iter().copied().find(|d| d.attr(attr) == Some(value));
    by("date-type", "pub")
        .or_else(|| by("date-type", "publication"))
        .or_else(|| by("pub-type", "epub"))
        .or_else(|| by("pub-type", "pub"))
}

/// Read a `pub-date`: its day/month/year, else its `iso-8601-date`.
/// A missing day or month is 1 (with a warning); anything else unusable is
/// an error naming the element.
pub(crate) fn read_date(cx: &mut Cx<'_>, el: &Element, path: &str) -> Result<Ymd> {
    let num = |name: &str| -> Option<std::result::Result<u32, String>> {
        let t = el.child(name)?.text();
        Some(t.parse::<u32>().map_err(|_| t))
    };
    let (y, m, d) = (num("year"), num("month"), num("day"));
    let (y, m, d) = match (y, el.attr("iso-8601-date")) {
        (Some(y), _) => (y, m, d),
        (None, Some(iso)) => {
            let mut parts = iso
                .trim()
                .splitn(3, '-')
                .map(|p| p.parse::<u32>().map_err(|_| iso.to_owned()));
            match parts.next() {
                Some(y) => (y, parts.next(), parts.next()),
                None => return Err(cx.missing(&format!("{path}/year"))),
            }
        }
        (None, None) => return Err(cx.missing(&format!("{path}/year"))),
    };
    let bad = |cx: &Cx<'_>, v: String| cx.invalid(path, format!("{v:?} is not a number"));
    let y = y.map_err(|v| bad(cx, v))?;
    let mut part = |v: Option<std::result::Result<u32, String>>, what: &str| -> Result<u32> {
        match v {
            Some(r) => r.map_err(|v| bad(cx, v)),
            None => {
                cx.warn(path, format!("no {what}: the 1st is used"));
                Ok(1)
            }
        }
    };
    let m = part(m, "month")?;
    let d = part(d, "day")?;
    Ymd::new(y, m, d).ok_or_else(|| cx.invalid(path, format!("{y:04}-{m:02}-{d:02} is not a date")))
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the model's only date-time form.
fn is_model_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

pub(crate) fn fill(cx: &mut Cx<'_>, meta: &Element, article: &mut Article) -> Result<()> {
    let now = match &cx.opts.now {
        Some(n) if is_model_date_time(n) => Some(n.clone()),
        Some(n) => {
            return Err(cx.invalid(
                "options.now",
                format!("{n:?} is not a date-time like 2016-09-16T12:34:56Z"),
            ))
        }
        None => None,
    };
    let path = format!("{META}/pub-date");
    let pub_date = match pub_date_element(meta) {
        Some(el) => Some(read_date(cx, el, &path)?),
        None => None,
    };
    let preview_v1 = article.stage == Stage::Preview && article.version == 1;

    let published = pub_date.map(Ymd::iso).or_else(|| now.clone());
    if published.is_none() && !preview_v1 {
        return Err(cx.missing(&format!("{path}[@date-type=pub]")));
    }
    if pub_date.is_none() && published.is_some() && !preview_v1 {
        cx.warn(
            &path,
            "no publication date: the time of publishing (options.now) is used",
        );
    }
    let version_date = if article.stage == Stage::Published {
        now.clone()
            .or_else(|| (article.version == 1).then(|| published.clone()).flatten())
    } else {
        None
    };
    if !preview_v1 {
        article.status_date = version_date.clone().or_else(|| published.clone());
        article.published = published;
    }
    article.version_date = version_date;

    article.volume = match meta
        .child("volume")
        .map(Element::text)
        .filter(|v| !v.is_empty())
    {
        Some(v) => match v.parse::<u32>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(cx.invalid(
                    &format!("{META}/volume"),
                    format!("{v:?} is not a volume number"),
                ))
            }
        },
        None => {
            // bot-lax-adaptor: eLife's volume is the year of publication
            // minus 2011 (volume 1 is 2012).
            let year = pub_date
                .map(|d| d.year)
                .or_else(|| now.as_deref().and_then(|n| n[..4].parse().ok()))
                .ok_or_else(|| cx.missing(&format!("{META}/volume")))?;
            year.checked_sub(2011).filter(|v| *v >= 1).ok_or_else(|| {
                cx.invalid(
                    &format!("{META}/volume"),
                    format!("no volume, and the year {year} is before eLife's first"),
                )
            })?
        }
    };
    Ok(())
}
