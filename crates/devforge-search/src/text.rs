//! The full-text half of the index: which extensions match what was typed, and how well.
//!
//! Each public extension is one tantivy document carrying only what matching needs: its
//! slot (where the catalogue keeps the listing itself), the words of its name and display
//! name, the words of its description, and its tags as whole terms. Nothing is stored:
//! listings come from the catalogue.
//!
//! Scores are built, not learned: every alternative of a term has a fixed score (see
//! [`Tier`]), a term scores its best alternative, and a document the sum over the terms.
//! A term matched without a typo scores at least [`EXACT`], one matched only by a typo at
//! most a few points, so a document with fewer typos always outscores one with more,
//! whatever the fields; among equal typo counts a match in the name outscores one in the
//! description, and a whole word outscores a prefix.

use devforge_domain::SearchQuery;
use devforge_domain::search::STOP_WORDS;
use devforge_marketplace::Extension;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
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
/// Indexing arena of the single writer thread (tantivy's minimum is 15 MB).
const WRITER_BUDGET: usize = 16_000_000;

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
    name: Field,
    text: Field,
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
        f.debug_struct("TextIndex")
            .field("documents", &self.reader.searcher().num_docs())
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
        text: builder.add_text_field("text", words),
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
        let mut writer = index.writer_with_num_threads(1, WRITER_BUDGET)?;
        for (slot, extension) in listed {
            writer.add_document(document(fields, slot, extension))?;
        }
        writer.commit()?;
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

    /// Every document matching `query` (each term, the last as a prefix when `typing`),
    /// with its score; or, without terms, every document with `tag`.
    ///
    /// # Errors
    /// [`EngineError`].
    pub fn matches(
        &self,
        query: Option<(&SearchQuery, bool)>,
        tag: Option<&str>,
    ) -> Result<Vec<(u32, Score)>, EngineError> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some((query, typing)) = query {
            let terms = query.terms();
            for (position, term) in terms.iter().enumerate() {
                let last = position + 1 == terms.len() && query.typing().is_none();
                clauses.push((Occur::Must, self.term_query(term, last && typing)));
            }
            if let Some(word) = query.typing() {
                clauses.push((Occur::Must, self.prefix_only(word)));
            }
        }
        if let Some(tag) = tag {
            let term = Term::from_field_text(self.fields.tag, tag);
            let only_tag = TermQuery::new(term, IndexRecordOption::Basic);
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(only_tag), 0.0)),
            ));
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        Ok(searcher.search(&BooleanQuery::new(clauses), &SlotCollector)?)
    }

    /// One term: its best way of matching (see [`Tier`]).
    fn term_query(&self, word: &str, prefix: bool) -> Box<dyn Query> {
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
            ways.push(scored(
                FuzzyTermQuery::new_prefix(name.clone(), 0, true),
                Tier::NamePrefix,
            ));
            ways.push(scored(
                FuzzyTermQuery::new_prefix(text.clone(), 0, true),
                Tier::TextPrefix,
            ));
        }
        let typos = typos_allowed(word.chars().count());
        if typos > 0 {
            let fuzzy = |term: Term| {
                if prefix {
                    FuzzyTermQuery::new_prefix(term, typos, true)
                } else {
                    FuzzyTermQuery::new(term, typos, true)
                }
            };
            ways.push(scored(fuzzy(name), Tier::NameTypo));
            ways.push(scored(fuzzy(text), Tier::TextTypo));
        }
        Box::new(DisjunctionMaxQuery::new(ways))
    }

    /// A stop word being typed: only as the start of a longer word.
    fn prefix_only(&self, word: &str) -> Box<dyn Query> {
        let name = Term::from_field_text(self.fields.name, word);
        let text = Term::from_field_text(self.fields.text, word);
        Box::new(DisjunctionMaxQuery::new(vec![
            scored(FuzzyTermQuery::new_prefix(name, 0, true), Tier::NamePrefix),
            scored(FuzzyTermQuery::new_prefix(text, 0, true), Tier::TextPrefix),
        ]))
    }
}

fn scored(query: impl Query, tier: Tier) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(Box::new(query), tier.score()))
}

fn document(fields: Fields, slot: u32, extension: &Extension) -> TantivyDocument {
    let mut document = TantivyDocument::default();
    document.add_u64(fields.slot, u64::from(slot));
    document.add_text(fields.name, extension.name.as_str());
    document.add_text(fields.name, &extension.display_name);
    document.add_text(fields.text, &extension.description);
    for tag in &extension.tags {
        document.add_text(fields.text, tag.as_str());
        document.add_text(fields.tag, tag.as_str());
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

    fn merge_fruits(&self, fruits: Vec<Vec<(u32, Score)>>) -> tantivy::Result<Self::Fruit> {
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
