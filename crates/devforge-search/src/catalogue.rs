//! The listing half of the index: every public extension by slot, the four sort orders
//! kept sorted as extensions change, and facet counts kept per category, so a listing
//! without text reads a page straight off an order.
//!
//! Slots are never reused: a slot that once held an extension holds it or nothing, so a
//! text document that outlives its extension for an instant can never be taken for
//! another one.
//!
//! A query may match tens of thousands of extensions, and each match is counted in the
//! facets and ranked: what that needs (category, tags, popularity) is kept per slot in a
//! small [`Meta`], side by side, so the pass reads a few megabytes in order rather than a
//! listing per match.

use crate::rank;
use devforge_marketplace::extension::{ExtCategory, Extension, ExtensionId, Tag};
use devforge_marketplace::index::{Facets, TOP_TAGS};
use devforge_marketplace::ports::ExtSort;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::Instant;

/// A public extension as listings need it.
#[derive(Debug)]
pub struct Listed {
    /// The listing as stored.
    pub extension: Extension,
    category: usize,
    tags: Vec<u32>,
}

/// What ranking and facets read of a slot.
#[derive(Debug, Clone, Copy, Default)]
struct Meta {
    listed: bool,
    category: u8,
    tag_count: u8,
    /// Where its tags start in `Catalogue::tag_pool`.
    tags_at: u32,
    /// Downloads and rating as one figure (see [`rank::popularity`]).
    popularity: f32,
}

/// The most frequent tags of a bucket, as (tag id, count).
type TopTags = std::sync::Arc<Vec<(u32, u64)>>;

thread_local! {
    /// Per-query tag counts by tag id, and the ids counted (reset after each query).
    static TAG_COUNTS: std::cell::RefCell<(Vec<u32>, Vec<u32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// The sorts kept as orders (relevance without text is downloads).
const ORDERS: [ExtSort; 4] = [
    ExtSort::Downloads,
    ExtSort::Rating,
    ExtSort::Newest,
    ExtSort::Name,
];

fn order_index(sort: ExtSort) -> usize {
    match sort {
        ExtSort::Relevance | ExtSort::Downloads => 0,
        ExtSort::Rating => 1,
        ExtSort::Newest => 2,
        ExtSort::Name => 3,
    }
}

fn category_index(category: ExtCategory) -> usize {
    ExtCategory::ALL
        .iter()
        .position(|c| *c == category)
        .unwrap_or(0)
}

/// What changed in the text index after [`Catalogue::upsert`] or [`Catalogue::remove`].
#[derive(Debug, PartialEq, Eq)]
pub enum TextChange {
    /// Nothing the text index holds.
    None,
    /// The slot's document must be (re)written.
    Write(u32),
    /// The slot's document must go.
    Delete(u32),
}

/// Every public extension, by slot.
#[derive(Debug, Default)]
pub struct Catalogue {
    slots: Vec<Option<Listed>>,
    metas: Vec<Meta>,
    tag_pool: Vec<u32>,
    slot_of: HashMap<ExtensionId, u32>,
    /// The start of the newest read applied per extension (also for those that left).
    seen: HashMap<ExtensionId, Instant>,
    /// Slots in each of [`ORDERS`].
    orders: [Vec<u32>; 4],
    tag_ids: HashMap<Tag, u32>,
    tag_names: Vec<Tag>,
    /// Public extensions per category.
    per_category: [u64; 8],
    /// Tag counts per category, and (last) over all.
    tags_per_category: [HashMap<u32, u64>; 9],
    /// The top tags of each bucket of `tags_per_category`, until its counts change.
    top_tags: std::sync::Mutex<[Option<TopTags>; 9]>,
}

impl Catalogue {
    /// A catalogue of `public`, all read by a scan that began at `read_started`.
    #[must_use]
    pub fn new(public: Vec<Extension>, read_started: Instant) -> Self {
        let mut catalogue = Self::default();
        for extension in public.into_iter().filter(Extension::is_public) {
            catalogue.seen.insert(extension.id, read_started);
            let listed = catalogue.listed(extension);
            catalogue.count(&listed, true);
            let slot = catalogue.next_slot();
            catalogue.slot_of.insert(listed.extension.id, slot);
            catalogue.slots.push(None);
            catalogue.metas.push(Meta::default());
            catalogue.set_meta(slot, &listed);
            catalogue.slots[slot as usize] = Some(listed);
        }
        let slots = &catalogue.slots;
        for (order, sort) in catalogue.orders.iter_mut().zip(ORDERS) {
            *order = (0..catalogue.slot_of.len())
                .filter_map(|slot| u32::try_from(slot).ok())
                .collect();
            order.sort_unstable_by(|a, b| compare(sort, slots, *a, *b));
        }
        catalogue
    }

    fn next_slot(&self) -> u32 {
        u32::try_from(self.slots.len()).unwrap_or(u32::MAX)
    }

    /// Every listed extension with its slot.
    pub fn all(&self) -> impl Iterator<Item = (u32, &Extension)> {
        self.slots.iter().enumerate().filter_map(|(slot, listed)| {
            Some((u32::try_from(slot).ok()?, &listed.as_ref()?.extension))
        })
    }

    /// The extension in `slot`, if it is listed.
    #[must_use]
    pub fn get(&self, slot: u32) -> Option<&Listed> {
        self.slots.get(slot as usize)?.as_ref()
    }

    /// Whether a read that began at `read_started` is older than what is held for `id`.
    #[must_use]
    pub fn is_outdated(&self, id: ExtensionId, read_started: Instant) -> bool {
        self.seen.get(&id).is_some_and(|seen| *seen > read_started)
    }

    /// Takes `extension` as read at `read_started`: listed if public, removed if not.
    pub fn upsert(&mut self, extension: Extension, read_started: Instant) -> TextChange {
        let id = extension.id;
        if self.is_outdated(id, read_started) {
            return TextChange::None;
        }
        self.seen.insert(id, read_started);
        if !extension.is_public() {
            return self.unlist(id);
        }
        let listed = self.listed(extension);
        match self.slot_of.get(&id).copied() {
            Some(slot) => {
                let (same_text, same_facets) = self.get(slot).map_or((false, false), |old| {
                    (
                        rank::same_text(&old.extension, &listed.extension),
                        old.category == listed.category && old.tags == listed.tags,
                    )
                });
                self.take_out(slot, !same_facets);
                self.put_in(slot, listed, !same_facets);
                if same_text {
                    TextChange::None
                } else {
                    TextChange::Write(slot)
                }
            }
            None => {
                let slot = self.next_slot();
                self.slots.push(None);
                self.metas.push(Meta::default());
                self.slot_of.insert(id, slot);
                self.put_in(slot, listed, true);
                TextChange::Write(slot)
            }
        }
    }

    /// Takes the news that `id` no longer exists, as read at `read_started`.
    pub fn remove(&mut self, id: ExtensionId, read_started: Instant) -> TextChange {
        if self.is_outdated(id, read_started) {
            return TextChange::None;
        }
        self.seen.insert(id, read_started);
        self.unlist(id)
    }

    fn unlist(&mut self, id: ExtensionId) -> TextChange {
        match self.slot_of.remove(&id) {
            Some(slot) => {
                self.take_out(slot, true);
                TextChange::Delete(slot)
            }
            None => TextChange::None,
        }
    }

    fn listed(&mut self, extension: Extension) -> Listed {
        let tags = extension.tags.iter().map(|tag| self.tag_id(tag)).collect();
        Listed {
            category: category_index(extension.category),
            tags,
            extension,
        }
    }

    fn tag_id(&mut self, tag: &Tag) -> u32 {
        if let Some(id) = self.tag_ids.get(tag) {
            return *id;
        }
        let id = u32::try_from(self.tag_names.len()).unwrap_or(u32::MAX);
        self.tag_ids.insert(tag.clone(), id);
        self.tag_names.push(tag.clone());
        id
    }

    /// Records what ranking and facets read of `listed`, in `slot`; its tags are appended
    /// to the pool unless they are the ones the slot already points at.
    fn set_meta(&mut self, slot: u32, listed: &Listed) {
        let held = self.metas[slot as usize];
        let start = held.tags_at as usize;
        let same_tags = held.tag_count as usize == listed.tags.len()
            && self.tag_pool.get(start..start + listed.tags.len()) == Some(&listed.tags[..]);
        let tags_at = if same_tags {
            held.tags_at
        } else {
            let at = u32::try_from(self.tag_pool.len()).unwrap_or(u32::MAX);
            self.tag_pool.extend_from_slice(&listed.tags);
            at
        };
        #[allow(clippy::cast_possible_truncation)] // a ranking figure needs no more precision
        let popularity = rank::popularity(&listed.extension) as f32;
        self.metas[slot as usize] = Meta {
            listed: true,
            category: u8::try_from(listed.category).unwrap_or(0),
            tag_count: u8::try_from(listed.tags.len()).unwrap_or(u8::MAX),
            tags_at,
            popularity,
        };
    }

    fn tags_of(&self, meta: Meta) -> &[u32] {
        let start = meta.tags_at as usize;
        self.tag_pool
            .get(start..start + usize::from(meta.tag_count))
            .unwrap_or_default()
    }

    /// Removes the slot's extension from the orders (and, with `recount`, the facet
    /// counts), leaving the slot empty.
    fn take_out(&mut self, slot: u32, recount: bool) {
        if self.get(slot).is_none() {
            return;
        }
        // Found while the old listing is still in place: the orders are sorted by it.
        for (order, sort) in self.orders.iter_mut().zip(ORDERS) {
            let slots = &self.slots;
            let at = order.partition_point(|other| compare(sort, slots, *other, slot).is_lt());
            if order.get(at) == Some(&slot) {
                order.remove(at);
            } else if let Some(at) = order.iter().position(|other| *other == slot) {
                order.remove(at);
            }
        }
        if let Some(old) = self.slots[slot as usize].take()
            && recount
        {
            self.count(&old, false);
        }
        self.metas[slot as usize].listed = false;
    }

    fn put_in(&mut self, slot: u32, listed: Listed, recount: bool) {
        if recount {
            self.count(&listed, true);
        }
        self.set_meta(slot, &listed);
        self.slots[slot as usize] = Some(listed);
        for (order, sort) in self.orders.iter_mut().zip(ORDERS) {
            let slots = &self.slots;
            let at = order.partition_point(|other| compare(sort, slots, *other, slot).is_lt());
            order.insert(at, slot);
        }
    }

    fn count(&mut self, listed: &Listed, add: bool) {
        let step = |count: &mut u64| {
            *count = if add {
                *count + 1
            } else {
                count.saturating_sub(1)
            };
        };
        step(&mut self.per_category[listed.category]);
        let mut top = self
            .top_tags
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        top[listed.category] = None;
        top[8] = None;
        drop(top);
        for tag in &listed.tags {
            for bucket in [listed.category, 8] {
                let counts = &mut self.tags_per_category[bucket];
                step(counts.entry(*tag).or_insert(0));
                if counts.get(tag) == Some(&0) {
                    counts.remove(tag);
                }
            }
        }
    }

    /// A page of the listing without text, in `sort` order, with its total and facets.
    #[must_use]
    pub fn browse(
        &self,
        category: Option<ExtCategory>,
        sort: ExtSort,
        offset: usize,
        limit: usize,
    ) -> (Vec<Extension>, u64, Facets) {
        let wanted = category.map(category_index);
        let items = self.orders[order_index(sort)]
            .iter()
            .filter_map(|slot| self.get(*slot))
            .filter(|listed| wanted.is_none_or(|c| listed.category == c))
            .skip(offset)
            .take(limit)
            .map(|listed| listed.extension.clone())
            .collect();
        let (total, categories) = match wanted {
            Some(c) => (self.per_category[c], vec![(c, self.per_category[c])]),
            None => (
                self.per_category.iter().sum(),
                self.per_category.iter().copied().enumerate().collect(),
            ),
        };
        let bucket = wanted.unwrap_or(8);
        let cached = self
            .top_tags
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)[bucket]
            .clone();
        let tags = cached.unwrap_or_else(|| {
            let top = std::sync::Arc::new(
                self.top_tags(
                    self.tags_per_category[bucket]
                        .iter()
                        .map(|(tag, count)| (*tag, *count)),
                ),
            );
            self.top_tags
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)[bucket] =
                Some(std::sync::Arc::clone(&top));
            top
        });
        (items, total, self.facets(categories, tags.to_vec()))
    }

    /// A page of `matches` (slot and text score), filtered by `category`, ranked by
    /// relevance or sorted by `sort`, with the total and facets over every match.
    #[must_use]
    pub fn page_of(
        &self,
        matches: Vec<(u32, f32)>,
        category: Option<ExtCategory>,
        order: Order,
        offset: usize,
        limit: usize,
    ) -> (Vec<Extension>, u64, Facets) {
        let wanted = category.and_then(|c| u8::try_from(category_index(c)).ok());
        let mut per_category = [0_u64; 8];
        let mut kept: Vec<(u32, f32, f32)> = Vec::with_capacity(matches.len());
        let tags = TAG_COUNTS.with_borrow_mut(|(counts, touched)| {
            counts.resize(self.tag_names.len(), 0);
            for (slot, score) in matches {
                let Some(meta) = self.metas.get(slot as usize).copied() else {
                    continue;
                };
                if !meta.listed || wanted.is_some_and(|c| meta.category != c) {
                    continue;
                }
                per_category[usize::from(meta.category)] += 1;
                for tag in self.tags_of(meta) {
                    let count = &mut counts[*tag as usize];
                    if *count == 0 {
                        touched.push(*tag);
                    }
                    *count += 1;
                }
                kept.push((slot, score, meta.popularity));
            }
            let top = self.top_tags(
                touched
                    .iter()
                    .map(|tag| (*tag, u64::from(counts[*tag as usize]))),
            );
            for tag in touched.drain(..) {
                counts[tag as usize] = 0;
            }
            top
        });
        let total = kept.len() as u64;
        let end = offset.saturating_add(limit).min(kept.len());
        let compare_matches = |a: &(u32, f32, f32), b: &(u32, f32, f32)| match order {
            Order::Relevance => rank::relevance(&self.slots, *a, *b),
            Order::Sorted(sort) => compare(sort, &self.slots, a.0, b.0),
        };
        if end > 0 && end < kept.len() {
            kept.select_nth_unstable_by(end - 1, compare_matches);
            kept.truncate(end);
        }
        kept.sort_unstable_by(compare_matches);
        let items = kept
            .get(offset..end)
            .unwrap_or_default()
            .iter()
            .filter_map(|(slot, _, _)| self.get(*slot))
            .map(|listed| listed.extension.clone())
            .collect();
        let categories = per_category.iter().copied().enumerate().collect();
        (items, total, self.facets(categories, tags))
    }

    fn top_tags(&self, counts: impl Iterator<Item = (u32, u64)>) -> Vec<(u32, u64)> {
        let mut top: Vec<(u32, u64)> = Vec::with_capacity(TOP_TAGS + 1);
        for entry in counts {
            let better = |a: &(u32, u64), b: &(u32, u64)| {
                b.1.cmp(&a.1)
                    .then_with(|| self.tag_names[a.0 as usize].cmp(&self.tag_names[b.0 as usize]))
            };
            if top.len() == TOP_TAGS
                && top
                    .last()
                    .is_some_and(|last| better(&entry, last) != Ordering::Less)
            {
                continue;
            }
            let at = top.partition_point(|held| better(held, &entry) == Ordering::Less);
            top.insert(at, entry);
            top.truncate(TOP_TAGS);
        }
        top
    }

    fn facets(&self, categories: Vec<(usize, u64)>, tags: Vec<(u32, u64)>) -> Facets {
        let mut categories: Vec<(ExtCategory, u64)> = categories
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(c, count)| (ExtCategory::ALL[c], count))
            .collect();
        categories.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.as_str().cmp(b.0.as_str())));
        Facets {
            categories,
            tags: tags
                .into_iter()
                .map(|(tag, count)| (self.tag_names[tag as usize].clone(), count))
                .collect(),
        }
    }
}

/// How a page of matches is ordered.
#[derive(Debug, Clone, Copy)]
pub enum Order {
    /// Best match first (see [`rank::relevance`]).
    Relevance,
    /// By a sort other than relevance.
    Sorted(ExtSort),
}

/// `sort`'s order of two listed slots; ties are broken by name, which is unique.
fn compare(sort: ExtSort, slots: &[Option<Listed>], a: u32, b: u32) -> Ordering {
    let (Some(Some(a)), Some(Some(b))) = (slots.get(a as usize), slots.get(b as usize)) else {
        return a.cmp(&b);
    };
    rank::sorted(sort, &a.extension, &b.extension)
}
