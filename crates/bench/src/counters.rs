//! The daemons' Prometheus counters, scraped from `/metrics`: what the
//! request and poll figures are computed from.

/// Prometheus counters scraped from a daemon: `name{labels}` → value.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counters(pub(crate) std::collections::BTreeMap<String, f64>);

impl Counters {
    /// The `pressbot_*` samples of the Prometheus text format.
    pub(crate) fn parse(text: &str) -> Counters {
        Counters(
            text.lines()
                .filter(|l| l.starts_with("pressbot_"))
                .filter_map(|l| {
                    let (series, value) = l.rsplit_once(' ')?;
                    Some((series.to_owned(), value.parse().ok()?))
                })
                .collect(),
        )
    }

    /// What grew since `before`, per series.
    pub(crate) fn since(&self, before: &Counters) -> Counters {
        Counters(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v - before.0.get(k).copied().unwrap_or(0.0)))
                .filter(|(_, d)| *d > 0.0)
                .collect(),
        )
    }

    /// Sum of the series of metric `name` whose labels contain all of `with`.
    pub(crate) fn sum(&self, name: &str, with: &[&str]) -> f64 {
        self.0
            .iter()
            .filter(|(k, _)| k.starts_with(name) && k[name.len()..].starts_with('{'))
            .filter(|(k, _)| with.iter().all(|w| k.contains(w)))
            .map(|(_, v)| v)
            .sum()
    }

    /// `label="value"` of a series, e.g. the operation of an AWS request.
    pub(crate) fn label<'a>(series: &'a str, label: &str) -> Option<&'a str> {
        let start = series.find(&format!("{label}=\""))? + label.len() + 2;
        let len = series[start..].find('"')?;
        Some(&series[start..start + len])
    }
}
