//! Rounding for the printed figures: a leaf that the installation and the
//! report both use, so neither imports the other.

/// `x` rounded to `digits` decimal places, so the JSON shows what was
/// measured and not float noise.
pub(crate) fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
