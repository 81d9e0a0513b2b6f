//! The full-text half of the index: which extensions match what was typed, and how well.
//!
//! Each public extension is one tantivy document carrying only what matching needs: its
//! slot (where the catalogue keeps the listing itself), the words of its name and display
//! name and every start of them (so a prefix being typed is one term, not a walk over the
//! dictionary), its whole name and every start of it, the words of its description, and
//! its tags as whole terms. Nothing is stored: listings come from the catalogue.
//!
//! Scores are built, not learned: every alternative of a term has a fixed score (see
//! [`Tier`]), a term scores its best alternative, and a document the sum over the terms.
//! A term matched without a typo scores at least [`EXACT`], one matched only by a typo at
//! most a few points, so a document with fewer typos always outscores one with more,
//! whatever the fields; among equal typo counts a match in the name outscores one in the
//! description, and a whole word outscores a prefix. On top: [`EXACT_NAME`] when the whole
//! name is what was typed, and [`NAME_START`] (less than any difference between tiers)
//! when the name starts with it.
//!
//! Typos are looked for only when the text matches fewer than [`TYPO_THRESHOLD`]
//! extensions as typed (as Typesense does), and then only for words the index does not
//! hold as typed (for the word being typed: that no name word starts with): walking the
//! dictionary for every word within one or two edits is the dearest part of a query, and
//! a search box that already shows a page of exact matches, or a word spelt as the
//! catalogue spells it, gains nothing from it. Prefixes of fewer than
//! [`SHORT_PREFIX`] characters match the start of names only: `re` means `react`, not
//! every description with a word starting with `re`.

use devforge_domain::SearchQuery;
use devforge_domain::search::STOP_WORDS;
use devforge_marketplace::Extension;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::indexer::NoMergePolicy;
use tantivy::query::{
    BooleanQuery, ConstScoreQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    LowerCaser, RemoveLongFilter, SimpleTokenizer, StopWordFilter, TextAnalyzer,
};
use tantivy::{
    DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentOrdinal, SegmentReader,
    TantivyDocument, Term,
};

const SLOT: &str = "slot";
const WORDS: &str = "words";
/// The longest start of a word (or of a whole name) indexed as a term of its own.
const LONGEST_START: usize = 24;
/// The same for description words (longer starts are found by walking the dictionary,
/// which few terms share).
const LONGEST_TEXT_START: usize = 10;

/// Below this many matches as typed, typos are looked for too.
pub const TYPO_THRESHOLD: usize = 20;
/// Prefixes shorter than this match names only.
pub const SHORT_PREFIX: usize = 3;
/// Added when the whole name is what was typed.
pub const EXACT_NAME: Score = 10_000.0;
/// Added when the name starts with what was typed.
pub const NAME_START: Score = 0.5;
/// Indexing arena of each writer thread (tantivy's minimum is 15 MB).
const WRITER_BUDGET: usize = 16_000_000;
/// Writer threads while loading the whole catalogue (changes later take one).
const LOAD_THREADS: usize = 2;

/// Points a term earns without a typo: more than any document's typo points can add up to.
pub const EXACT: Score = 100.0;

/// The ways a term can match, and what each earns.
#[derive(Debug, Clone, Copy)]
enum Tier {
    NameWord,
    NamePrefix,
    TextWord,
    TextPrefix,
    NameTypo,
    TextTypo,
}

impl Tier {
    const fn score(self) -> Score {
        match self {
            Self::NameWord => EXACT + 10.0,
            Self::NamePrefix => EXACT + 8.0,
            Self::TextWord => EXACT + 6.0,
            Self::TextPrefix => EXACT + 4.0,
            Self::NameTypo => 2.0,
            Self::TextTypo => 1.0,
        }
    }
}

/// Typos forgiven in a word of `length` characters, as Meilisearch does: one from 5
/// characters, two from 9.
#[must_use]
pub fn typos_allowed(length: usize) -> u8 {
    match length {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    slot: Field,
    /// Words of the name and display name.
    name: Field,
    /// Every start of those words.
    name_start: Field,
    /// The whole name, spaced (`eslint plugin react`).
    whole_name: Field,
    /// Every start of the whole name.
    name_head: Field,
    /// Words of the description and tags.
    text: Field,
    /// Every start of those words from [`SHORT_PREFIX`] to [`LONGEST_TEXT_START`]
    /// characters.
    text_start: Field,
    /// Tags, whole.
    tag: Field,
}

/// The tantivy index of the public catalogue: one writer, one reader reloaded after each
/// commit.
pub struct TextIndex {
    fields: Fields,
    writer: std::sync::Mutex<IndexWriter>,
    reader: IndexReader,
}

impl std::fmt::Debug for TextIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let searcher = self.reader.searcher();
        f.debug_struct("TextIndex")
            .field("documents", &searcher.num_docs())
            .field("segments", &searcher.segment_readers().len())
            .finish_non_exhaustive()
    }
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(
            STOP_WORDS.iter().map(|w| (*w).to_owned()),
        ))
        .build()
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(WORDS)
            .set_index_option(IndexRecordOption::Basic),
    );
    let fields = Fields {
        slot: builder.add_u64_field(SLOT, INDEXED | tantivy::schema::FAST),
        name: builder.add_text_field("name", words.clone()),
        name_start: builder.add_text_field("name_start", STRING),
        whole_name: builder.add_text_field("whole_name", STRING),
        name_head: builder.add_text_field("name_head", STRING),
        text: builder.add_text_field("text", words),
        text_start: builder.add_text_field("text_start", STRING),
        tag: builder.add_text_field("tag", STRING),
    };
    (builder.build(), fields)
}

/// A failure inside the engine (it works in memory, so only a defect causes one).
#[derive(Debug)]
pub struct EngineError(pub String);

impl From<tantivy::TantivyError> for EngineError {
    fn from(err: tantivy::TantivyError) -> Self {
        Self(err.to_string())
    }
}

impl TextIndex {
    /// An index holding `listed`: each extension with its slot.
    ///
    /// # Errors
    /// [`EngineError`].
    pub fn build<'a>(
        listed: impl IntoIterator<Item = (u32, &'a Extension)>,
    ) -> Result<Self, EngineError> {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        index.tokenizers().register(WORDS, analyzer());
        let mut loader =
            index.writer_with_num_threads(LOAD_THREADS, LOAD_THREADS * WRITER_BUDGET)?;
        loader.set_merge_policy(Box::new(NoMergePolicy));
        for (slot, extension) in listed {
            loader.add_document(document(fields, slot, extension))?;
        }
        loader.commit()?;
        // Each writer thread flushes a segment whenever its arena fills; a query pays for
        // each segment (a dictionary lookup per term), so the loaded copy is merged into one.
        let segments = index.searchable_segment_ids()?;
        if segments.len() > 1 {
            loader.merge(&segments).wait()?;
        }
        loader.wait_merging_threads()?;
        let writer = index.writer_with_num_threads(1, WRITER_BUDGET)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            fields,
            writer: std::sync::Mutex::new(writer),
            reader,
        })
    }

    /// Replaces the documents of `changed` slots (with their new text) and removes those of
    /// `removed` ones, visible to searches once this returns.
    ///
    /// # Errors
    /// [`EngineError`].
    pub fn update<'a>(
        &self,
        changed: impl IntoIterator<Item = (u32, &'a Extension)>,
        removed: impl IntoIterator<Item = u32>,
    ) -> Result<(), EngineError> {
        let mut writer = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for slot in removed {
            writer.delete_term(Term::from_field_u64(self.fields.slot, u64::from(slot)));
        }
        for (slot, extension) in changed {
            writer.delete_term(Term::from_field_u64(self.fields.slot, u64::from(slot)));
            writer.add_document(document(self.fields, slot, extension))?;
        }
        writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Every document matching `query` (each term, the last as a prefix when `typing`;
    /// typos too when few match without), with its score; or, without terms, every
    /// document with `tag`. `spaced` is what was typed, spaced, for the name bonuses.
    ///
    /// # Errors
    /// [`EngineError`].
    pub fn matches(
        &self,
        query: Option<(&SearchQuery, bool, &str)>,
        tag: Option<&str>,
    ) -> Result<Vec<(u32, Score)>, EngineError> {
        let searcher = self.reader.searcher();
        let as_typed = self.run(&searcher, query, tag, &[])?;
        let Some((typed, typing, _)) = query else {
            return Ok(as_typed);
        };
        if as_typed.len() >= TYPO_THRESHOLD {
            return Ok(as_typed);
        }
        let terms = typed.terms();
        let misspelt: Vec<bool> = terms
            .iter()
            .enumerate()
            .map(|(position, term)| {
                let prefix = is_being_typed(typed, typing, position);
                typos_allowed(term.chars().count()) > 0 && !self.holds(&searcher, term, prefix)
            })
            .collect();
        if !misspelt.contains(&true) {
            return Ok(as_typed);
        }
        self.run(&searcher, query, tag, &misspelt)
    }

    /// Whether the index holds `word` as a word (or, for a `prefix`, as the start of a
    /// name word).
    fn holds(&self, searcher: &tantivy::Searcher, word: &str, prefix: bool) -> bool {
        let held = |field: Field| {
            searcher
                .doc_freq(&Term::from_field_text(field, word))
                .is_ok_and(|n| n > 0)
        };
        held(self.fields.name) || held(self.fields.text) || (prefix && held(self.fields.name_start))
    }

    /// One search; the terms flagged in `misspelt` (by position) also match with typos.
    fn run(
        &self,
        searcher: &tantivy::Searcher,
        query: Option<(&SearchQuery, bool, &str)>,
        tag: Option<&str>,
        misspelt: &[bool],
    ) -> Result<Vec<(u32, Score)>, EngineError> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some((query, typing, spaced)) = query {
            let terms = query.terms();
            for (position, term) in terms.iter().enumerate() {
                let typos = misspelt.get(position).copied().unwrap_or(false);
                let prefix = is_being_typed(query, typing, position);
                clauses.push((Occur::Must, self.term_query(term, prefix, typos)));
            }
            if let Some(word) = query.typing() {
                clauses.push((Occur::Must, self.prefix_only(word)));
            }
            if !clauses.is_empty() {
                let whole = Term::from_field_text(self.fields.whole_name, spaced);
                clauses.push((
                    Occur::Should,
                    scored_by(TermQuery::new(whole, IndexRecordOption::Basic), EXACT_NAME),
                ));
                let head = Term::from_field_text(self.fields.name_head, spaced);
                clauses.push((
                    Occur::Should,
                    scored_by(TermQuery::new(head, IndexRecordOption::Basic), NAME_START),
                ));
            }
        }
        if let Some(tag) = tag {
            let term = Term::from_field_text(self.fields.tag, tag);
            let only_tag = TermQuery::new(term, IndexRecordOption::Basic);
            clauses.push((Occur::Must, scored_by(only_tag, 0.0)));
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        Ok(searcher.search(&BooleanQuery::new(clauses), &SlotCollector)?)
    }

    /// One term: its best way of matching (see [`Tier`]).
    fn term_query(&self, word: &str, prefix: bool, typos: bool) -> Box<dyn Query> {
        let name = Term::from_field_text(self.fields.name, word);
        let text = Term::from_field_text(self.fields.text, word);
        let mut ways: Vec<Box<dyn Query>> = vec![
            scored(
                TermQuery::new(name.clone(), IndexRecordOption::Basic),
                Tier::NameWord,
            ),
            scored(
                TermQuery::new(text.clone(), IndexRecordOption::Basic),
                Tier::TextWord,
            ),
        ];
        if prefix {
            ways.extend(self.prefix_ways(word));
        }
        let allowed = typos_allowed(word.chars().count());
        if typos && allowed > 0 {
            let fuzzy = |term: Term| {
                if prefix {
                    FuzzyTermQuery::new_prefix(term, allowed, true)
                } else {
                    FuzzyTermQuery::new(term, allowed, true)
                }
            };
            ways.push(scored(fuzzy(name), Tier::NameTypo));
            ways.push(scored(fuzzy(text), Tier::TextTypo));
        }
        Box::new(DisjunctionMaxQuery::new(ways))
    }

    /// `word` as the start of a longer word: of a name word (one indexed term), and from
    /// [`SHORT_PREFIX`] characters on, of a description word.
    fn prefix_ways(&self, word: &str) -> Vec<Box<dyn Query>> {
        let length = word.chars().count();
        let mut ways = Vec::with_capacity(2);
        if length <= LONGEST_START {
            let start = Term::from_field_text(self.fields.name_start, word);
            ways.push(scored(
                TermQuery::new(start, IndexRecordOption::Basic),
                Tier::NamePrefix,
            ));
        } else {
            let name = Term::from_field_text(self.fields.name, word);
            ways.push(scored(
                FuzzyTermQuery::new_prefix(name, 0, true),
                Tier::NamePrefix,
            ));
        }
        if (SHORT_PREFIX..=LONGEST_TEXT_START).contains(&length) {
            let start = Term::from_field_text(self.fields.text_start, word);
            ways.push(scored(
                TermQuery::new(start, IndexRecordOption::Basic),
                Tier::TextPrefix,
            ));
        } else if length > LONGEST_TEXT_START {
            let text = Term::from_field_text(self.fields.text, word);
            ways.push(scored(
                FuzzyTermQuery::new_prefix(text, 0, true),
                Tier::TextPrefix,
            ));
        }
        ways
    }

    /// A stop word being typed: only as the start of a longer word.
    fn prefix_only(&self, word: &str) -> Box<dyn Query> {
        Box::new(DisjunctionMaxQuery::new(self.prefix_ways(word)))
    }
}

/// Whether the term at `position` is the word still being typed (the last one, when the
/// text ends in a word and that word is not a stop word kept apart as `typing`), so it
/// also matches as a prefix.
fn is_being_typed(query: &SearchQuery, typing: bool, position: usize) -> bool {
    typing && position + 1 == query.terms().len() && query.typing().is_none()
}

fn scored(query: impl Query, tier: Tier) -> Box<dyn Query> {
    scored_by(query, tier.score())
}

fn scored_by(query: impl Query, score: Score) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(Box::new(query), score))
}

/// Every start of `text` up to [`LONGEST_START`] characters, shortest first.
fn starts(text: &str) -> impl Iterator<Item = &str> {
    text.char_indices()
        .skip(1)
        .map(|(at, _)| at)
        .chain(std::iter::once(text.len()))
        .take(LONGEST_START)
        .map(|end| &text[..end])
}

fn document(fields: Fields, slot: u32, extension: &Extension) -> TantivyDocument {
    let mut document = TantivyDocument::default();
    document.add_u64(fields.slot, u64::from(slot));
    document.add_text(fields.name, extension.name.as_str());
    document.add_text(fields.name, &extension.display_name);
    let mut seen = std::collections::HashSet::new();
    for word in crate::rank::spaced(&format!(
        "{} {}",
        extension.name.as_str(),
        extension.display_name
    ))
    .split(' ')
    .filter(|w| !w.is_empty() && !STOP_WORDS.contains(w))
    {
        for start in starts(word) {
            if seen.insert(start.to_owned()) {
                document.add_text(fields.name_start, start);
            }
        }
    }
    let spaced = crate::rank::spaced(extension.name.as_str());
    document.add_text(fields.whole_name, &spaced);
    for head in starts(&spaced) {
        document.add_text(fields.name_head, head);
    }
    document.add_text(fields.text, &extension.description);
    for tag in &extension.tags {
        document.add_text(fields.text, tag.as_str());
        document.add_text(fields.tag, tag.as_str());
    }
    seen.clear();
    let text_words = crate::rank::spaced(&extension.description);
    let tag_words = extension
        .tags
        .iter()
        .map(|tag| crate::rank::spaced(tag.as_str()));
    for words in std::iter::once(text_words).chain(tag_words) {
        for word in words.split(' ').filter(|w| {
            w.chars().count() >= SHORT_PREFIX && w.len() <= 40 && !STOP_WORDS.contains(w)
        }) {
            for start in starts(word)
                .skip(SHORT_PREFIX - 1)
                .take(LONGEST_TEXT_START + 1 - SHORT_PREFIX)
            {
                if seen.insert(start.to_owned()) {
                    document.add_text(fields.text_start, start);
                }
            }
        }
    }
    document
}

/// Collects every match as (slot, score).
struct SlotCollector;

struct SlotSegmentCollector {
    slots: Column<u64>,
    found: Vec<(u32, Score)>,
}

impl Collector for SlotCollector {
    type Fruit = Vec<(u32, Score)>;
    type Child = SlotSegmentCollector;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SlotSegmentCollector> {
        Ok(SlotSegmentCollector {
            slots: reader.fast_fields().u64(SLOT)?,
            found: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, mut fruits: Vec<Vec<(u32, Score)>>) -> tantivy::Result<Self::Fruit> {
        // Mostly one segment: its matches are the answer, not to be copied.
        if fruits.len() == 1 {
            return Ok(fruits.pop().unwrap_or_default());
        }
        Ok(fruits.concat())
    }
}

impl SegmentCollector for SlotSegmentCollector {
    type Fruit = Vec<(u32, Score)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(slot) = self.slots.first(doc).and_then(|s| u32::try_from(s).ok()) {
            self.found.push((slot, score));
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.found
    }
}
