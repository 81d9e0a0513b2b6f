//! The knowledge base's search index: every article in a tantivy index in RAM, rebuilt
//! whole when the stored search generation moves (the freshness rule is the port's, in
//! [`devforge_support::search_index`]).
//!
//! Titles and bodies are split into alphanumeric words (as [`SearchQuery`] splits what was
//! typed), lower-cased and reduced to their English stems (Snowball), so `installing`
//! finds `install`. Every term of a query must match, in the title or the body; the score
//! is tantivy's BM25 with a title match counting [`TITLE_BOOST`] times. Status, category
//! and tags are indexed whole, as filters. The snippet is the fragment of the body richest
//! in matched words (tantivy's choice), escaped for HTML by the domain's [`Snippet`].
//!
//! A rebuild makes a new index beside the old one and swaps it in: searches never see a
//! half-built one, and a failed rebuild leaves the previous contents.

use chrono::{DateTime, Utc};
use devforge_domain::search::{MATCH_END, MATCH_START};
use devforge_domain::{Page, PageRequest, SearchQuery, Snippet, StoreError};
use devforge_support::ports::ArticleFilter;
use devforge_support::{Article, ArticleId, ArticleIndex, ArticleMatch};
use std::cmp::Ordering;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{Language, LowerCaser, SimpleTokenizer, Stemmer, TextAnalyzer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Score, TantivyDocument, Term};

/// How many times a match in the title counts against one in the body.
pub const TITLE_BOOST: Score = 4.0;
/// The longest snippet, in characters.
const SNIPPET_CHARS: usize = 200;
/// The indexing arena (tantivy's minimum): a knowledge base fits in one.
const WRITER_BUDGET: usize = 15_000_000;
const STEMMED: &str = "english_stemmed";
const SLOT: &str = "slot";

#[derive(Debug, Clone, Copy)]
struct Fields {
    slot: Field,
    title: Field,
    body: Field,
    status: Field,
    category: Field,
    tag: Field,
}

/// What a match needs besides its score: the order of equal scores, and the body for
/// its snippet.
#[derive(Debug)]
struct Entry {
    id: ArticleId,
    slug: String,
    published_at: Option<DateTime<Utc>>,
    body: String,
}

/// One build: the index, its reader, and the articles by slot.
struct Held {
    generation: u64,
    fields: Fields,
    reader: IndexReader,
    analyzer: TextAnalyzer,
    entries: Vec<Entry>,
}

/// The knowledge base in memory; one per server process, shared by its workers.
#[derive(Default)]
pub struct ArticleSearchIndex {
    held: RwLock<Option<Arc<Held>>>,
}

impl std::fmt::Debug for ArticleSearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.held();
        f.debug_struct("ArticleSearchIndex")
            .field("generation", &held.as_ref().map(|h| h.generation))
            .field("articles", &held.as_ref().map_or(0, |h| h.entries.len()))
            .finish()
    }
}

fn index_error(error: &tantivy::TantivyError) -> StoreError {
    StoreError::unexpected(format!("article index: {error}"))
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(STEMMED)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        slot: builder.add_u64_field(SLOT, FAST),
        title: builder.add_text_field("title", text.clone()),
        body: builder.add_text_field("body", text),
        status: builder.add_text_field("status", STRING),
        category: builder.add_text_field("category", STRING),
        tag: builder.add_text_field("tag", STRING),
    };
    (builder.build(), fields)
}

fn build(generation: u64, articles: &[Article]) -> tantivy::Result<Held> {
    let (schema, fields) = schema();
    let index = Index::create_in_ram(schema);
    index.tokenizers().register(STEMMED, analyzer());
    let mut writer: IndexWriter = index.writer_with_num_threads(1, WRITER_BUDGET)?;
    let mut entries = Vec::with_capacity(articles.len());
    for (slot, article) in (0_u64..).zip(articles) {
        let mut doc = TantivyDocument::default();
        doc.add_u64(fields.slot, slot);
        doc.add_text(fields.title, &article.text.title);
        doc.add_text(fields.body, &article.text.body);
        doc.add_text(fields.status, article.status.as_str());
        doc.add_text(fields.category, article.category.as_str());
        for tag in &article.tags {
            doc.add_text(fields.tag, tag.as_str());
        }
        writer.add_document(doc)?;
        entries.push(Entry {
            id: article.id,
            slug: article.slug.as_str().to_owned(),
            published_at: article.published_at,
            body: article.text.body.clone(),
        });
    }
    writer.commit()?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    Ok(Held {
        generation,
        fields,
        reader,
        analyzer: analyzer(),
        entries,
    })
}

impl Held {
    /// The stems of one query term (a term is one word, so usually one stem).
    fn stems(&self, term: &str) -> Vec<String> {
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(term);
        let mut stems = Vec::new();
        while let Some(token) = stream.next() {
            stems.push(token.text.clone());
        }
        stems
    }

    /// Every term in the title or the body, and every filter: `None` when a term has no
    /// stem, which nothing can match.
    fn query(&self, query: &SearchQuery, filter: &ArticleFilter) -> Option<BooleanQuery> {
        let field_term = |field, text: &str| {
            Box::new(TermQuery::new(
                Term::from_field_text(field, text),
                IndexRecordOption::WithFreqs,
            ))
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for term in query.terms() {
            let stems = self.stems(term);
            if stems.is_empty() {
                return None;
            }
            for stem in stems {
                let title = BoostQuery::new(field_term(self.fields.title, &stem), TITLE_BOOST);
                let either: Vec<(Occur, Box<dyn Query>)> = vec![
                    (Occur::Should, Box::new(title)),
                    (Occur::Should, field_term(self.fields.body, &stem)),
                ];
                clauses.push((Occur::Must, Box::new(BooleanQuery::new(either))));
            }
        }
        let filters = [
            (self.fields.status, filter.status.map(|s| s.as_str())),
            (
                self.fields.category,
                filter.category.as_ref().map(|c| c.as_str()),
            ),
            (self.fields.tag, filter.tag.as_ref().map(|t| t.as_str())),
        ];
        for (field, value) in filters {
            if let Some(value) = value {
                let term = Term::from_field_text(field, value);
                let exact = TermQuery::new(term, IndexRecordOption::Basic);
                clauses.push((Occur::Must, Box::new(exact)));
            }
        }
        Some(BooleanQuery::new(clauses))
    }

    /// Equal scores: the most recently published first (never published last), then by
    /// slug.
    fn tie_order(&self, a: usize, b: usize) -> Ordering {
        let (a, b) = (&self.entries[a], &self.entries[b]);
        b.published_at
            .cmp(&a.published_at)
            .then_with(|| a.slug.cmp(&b.slug))
    }

    fn search(
        &self,
        query: &SearchQuery,
        filter: &ArticleFilter,
        page: PageRequest,
    ) -> tantivy::Result<Page<ArticleMatch>> {
        let empty = Page {
            items: Vec::new(),
            request: page,
            total: 0,
        };
        let Some(text_query) = self.query(query, filter) else {
            return Ok(empty);
        };
        let searcher = self.reader.searcher();
        let every_match = TopDocs::with_limit(self.entries.len().max(1)).order_by_score();
        let found = searcher.search(&text_query, &every_match)?;
        let mut ranked = Vec::with_capacity(found.len());
        for (score, address) in found {
            let slots = searcher
                .segment_reader(address.segment_ord)
                .fast_fields()
                .u64(SLOT)?;
            let slot = slots
                .first(address.doc_id)
                .and_then(|slot| usize::try_from(slot).ok())
                .filter(|slot| *slot < self.entries.len());
            if let Some(slot) = slot {
                ranked.push((score, slot));
            }
        }
        ranked.sort_by(|(a_score, a), (b_score, b)| {
            b_score
                .total_cmp(a_score)
                .then_with(|| self.tie_order(*a, *b))
        });
        let total = u64::try_from(ranked.len()).unwrap_or(u64::MAX);
        let mut snippets = SnippetGenerator::create(&searcher, &text_query, self.fields.body)?;
        snippets.set_max_num_chars(SNIPPET_CHARS);
        let items = ranked
            .into_iter()
            .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
            .take(usize::try_from(page.per_page()).unwrap_or(usize::MAX))
            .map(|(_, slot)| {
                let entry = &self.entries[slot];
                ArticleMatch {
                    id: entry.id,
                    snippet: snippet(&snippets, &entry.body),
                }
            })
            .collect();
        Ok(Page {
            items,
            request: page,
            total,
        })
    }
}

/// The body's best fragment, its matched words marked; the body's start when no word of
/// the body matched (the title did).
fn snippet(generator: &SnippetGenerator, body: &str) -> Snippet {
    let found = generator.snippet(body);
    if found.fragment().is_empty() {
        let start: String = body.chars().take(SNIPPET_CHARS).collect();
        return Snippet::from_marked(&start);
    }
    let fragment = found.fragment();
    let mut marked = String::with_capacity(fragment.len() + 8);
    let mut at = 0;
    for range in found.highlighted() {
        let (Some(before), Some(word)) =
            (fragment.get(at..range.start), fragment.get(range.clone()))
        else {
            continue;
        };
        marked.push_str(before);
        marked.push(MATCH_START);
        marked.push_str(word);
        marked.push(MATCH_END);
        at = range.end;
    }
    marked.push_str(fragment.get(at..).unwrap_or_default());
    Snippet::from_marked(&marked)
}

impl ArticleSearchIndex {
    /// An empty index; the first search builds it.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn held(&self) -> Option<Arc<Held>> {
        self.held
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ArticleIndex for ArticleSearchIndex {
    fn generation(&self) -> Option<u64> {
        self.held().map(|held| held.generation)
    }

    fn rebuild(&self, generation: u64, articles: &[Article]) -> Result<(), StoreError> {
        let started = Instant::now();
        let held = build(generation, articles).map_err(|e| index_error(&e))?;
        *self.held.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(held));
        tracing::info!(
            generation,
            articles = articles.len(),
            elapsed_ms = started.elapsed().as_millis(),
            "article index rebuilt"
        );
        Ok(())
    }

    fn search(
        &self,
        query: &SearchQuery,
        filter: &ArticleFilter,
        page: PageRequest,
    ) -> Result<Page<ArticleMatch>, StoreError> {
        let Some(held) = self.held() else {
            return Ok(Page {
                items: Vec::new(),
                request: page,
                total: 0,
            });
        };
        held.search(query, filter, page)
            .map_err(|e| index_error(&e))
    }
}
