//! The order of a listing: relevance rules for typed text, and the explicit sorts.
//!
//! Relevance is the text score (see `text`), which already orders, most important first:
//! the extension whose name is what was typed (dashes and spaces alike); fewer typos;
//! matches in the name over matches in the description, whole words over prefixes; a name
//! that starts with what was typed (`eslint-pl` → `eslint-plugin-react`). Then popularity,
//! downloads and rating together ([`popularity`]), and last the name, so equal matches
//! keep one order. Popularity therefore never lifts an extension above a better text
//! match.

use crate::catalogue::Listed;
use devforge_marketplace::Extension;
use devforge_marketplace::ports::ExtSort;
use std::cmp::Ordering;

/// `text`'s words, lower-cased, joined by single spaces: `Eslint-Plugin` and
/// `eslint plugin` read the same.
#[must_use]
pub fn spaced(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Downloads and rating as one figure: the decimal logarithm of the downloads (so a
/// hundredfold more downloads adds 2), plus up to ±1 for the average rating's distance from
/// 3 stars, trusted in proportion to the number of reviews up to 20.
#[must_use]
#[allow(clippy::cast_precision_loss)] // counts far below 2^52
pub fn popularity(extension: &Extension) -> f64 {
    let downloads = (1.0 + extension.downloads as f64).log10();
    let rating = extension.rating_average().map_or(0.0, |average| {
        let trust = extension.rating_count.min(20) as f64 / 20.0;
        (average - 3.0) / 2.0 * trust
    });
    downloads + rating
}

/// Whether the text index holds the same words for both.
#[must_use]
pub fn same_text(a: &Extension, b: &Extension) -> bool {
    a.name == b.name
        && a.display_name == b.display_name
        && a.description == b.description
        && a.tags == b.tags
}

/// `sort`'s order; ties by name, which is unique.
#[must_use]
pub fn sorted(sort: ExtSort, a: &Extension, b: &Extension) -> Ordering {
    let by_name = || a.name.as_str().cmp(b.name.as_str());
    match sort {
        ExtSort::Relevance | ExtSort::Downloads => b.downloads.cmp(&a.downloads),
        ExtSort::Rating => {
            let average = |e: &Extension| e.rating_average().unwrap_or(0.0);
            average(b)
                .total_cmp(&average(a))
                .then_with(|| b.rating_count.cmp(&a.rating_count))
        }
        ExtSort::Newest => b.published_at.cmp(&a.published_at),
        ExtSort::Name => Ordering::Equal,
    }
    .then_with(by_name)
}

/// Relevance order of two matches (slot, text score with the name bonuses, popularity);
/// see the module docs.
#[must_use]
pub fn relevance(slots: &[Option<Listed>], a: (u32, f32, f32), b: (u32, f32, f32)) -> Ordering {
    b.1.total_cmp(&a.1)
        .then_with(|| b.2.total_cmp(&a.2))
        .then_with(|| {
            let name = |slot: u32| {
                slots
                    .get(slot as usize)
                    .and_then(Option::as_ref)
                    .map(|listed| listed.extension.name.as_str())
            };
            name(a.0).cmp(&name(b.0))
        })
}
