//! Full-text search input and output that both databases treat alike (shared by the
//! support knowledge base and the marketplace).
//!
//! PostgreSQL (`tsvector`, the `english` configuration) and SQLite (FTS5 with the Porter
//! tokenizer) stem English words the same way for ordinary text, but only PostgreSQL drops
//! stop words. A [`SearchQuery`] therefore keeps only the words both sides would match on:
//! it splits the input into alphanumeric words, lower-cases them and removes PostgreSQL's
//! English stop words. Adapters AND the remaining terms together. Words are plain
//! alphanumerics, so no query syntax of either engine can be smuggled in.
//!
//! Snippets come from a search index with private-use marker characters around the
//! matched words; [`Snippet::from_marked`] escapes the text for HTML and turns the markers
//! into `<mark>` tags, so a client can render a snippet without trusting article bodies.

use crate::InvalidValue;

/// PostgreSQL's English stop words (`tsearch_data/english.stop`, from Snowball).
pub const STOP_WORDS: [&str; 127] = [
    "i",
    "me",
    "my",
    "myself",
    "we",
    "our",
    "ours",
    "ourselves",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "he",
    "him",
    "his",
    "himself",
    "she",
    "her",
    "hers",
    "herself",
    "it",
    "its",
    "itself",
    "they",
    "them",
    "their",
    "theirs",
    "themselves",
    "what",
    "which",
    "who",
    "whom",
    "this",
    "that",
    "these",
    "those",
    "am",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "have",
    "has",
    "had",
    "having",
    "do",
    "does",
    "did",
    "doing",
    "a",
    "an",
    "the",
    "and",
    "but",
    "if",
    "or",
    "because",
    "as",
    "until",
    "while",
    "of",
    "at",
    "by",
    "for",
    "with",
    "about",
    "against",
    "between",
    "into",
    "through",
    "during",
    "before",
    "after",
    "above",
    "below",
    "to",
    "from",
    "up",
    "down",
    "in",
    "out",
    "on",
    "off",
    "over",
    "under",
    "again",
    "further",
    "then",
    "once",
    "here",
    "there",
    "when",
    "where",
    "why",
    "how",
    "all",
    "any",
    "both",
    "each",
    "few",
    "more",
    "most",
    "other",
    "some",
    "such",
    "no",
    "nor",
    "not",
    "only",
    "own",
    "same",
    "so",
    "than",
    "too",
    "very",
    "s",
    "t",
    "can",
    "will",
    "just",
    "don",
    "should",
    "now",
];

/// The longest query text accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most terms a query keeps.
pub const MAX_TERMS: usize = 12;

/// Marks the start of a matched word in a snippet's excerpt.
pub const MATCH_START: char = '\u{E000}';
/// Marks the end of a matched word in a snippet's excerpt.
pub const MATCH_END: char = '\u{E001}';

/// A parsed search: the words every result must contain (after stemming).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SearchQuery {
    terms: Vec<String>,
    /// For search-as-you-type: the last word when it is a stop word, kept because it may
    /// be the start of a longer word (`an` of `analyzer`).
    typing: Option<String>,
}

impl SearchQuery {
    /// Parses what a user typed. A query of only stop words or punctuation has no terms
    /// and matches nothing.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `q` when the text is longer than
    /// [`MAX_QUERY_CHARS`].
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.chars().count() > MAX_QUERY_CHARS {
            return Err(InvalidValue::new(
                "q",
                format!("must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let mut terms: Vec<String> = Vec::new();
        for word in raw.split(|c: char| !c.is_alphanumeric()) {
            let word = word.to_lowercase();
            if word.is_empty() || STOP_WORDS.contains(&word.as_str()) || terms.contains(&word) {
                continue;
            }
            terms.push(word);
            if terms.len() == MAX_TERMS {
                break;
            }
        }
        Ok(Self {
            terms,
            typing: None,
        })
    }

    /// Parses what a user is typing: as [`Self::parse`], but a last word that is a stop
    /// word is kept apart ([`Self::typing`]) to be matched as a plain prefix.
    ///
    /// # Errors
    /// As [`Self::parse`].
    pub fn parse_typing(raw: &str) -> Result<Self, InvalidValue> {
        let mut query = Self::parse(raw)?;
        let ends_in_word = raw.chars().last().is_some_and(char::is_alphanumeric);
        let last = raw
            .split(|c: char| !c.is_alphanumeric())
            .rfind(|w| !w.is_empty())
            .map(str::to_lowercase);
        if let Some(last) = last.filter(|w| ends_in_word && STOP_WORDS.contains(&w.as_str())) {
            query.typing = Some(last);
        }
        Ok(query)
    }

    /// The last word being typed, when it is a stop word (see [`Self::parse_typing`]).
    #[must_use]
    pub fn typing(&self) -> Option<&str> {
        self.typing.as_deref()
    }

    /// The terms, lower-case alphanumerics, in the order typed.
    #[must_use]
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// Whether nothing searchable is left (such a query matches nothing).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.typing.is_none()
    }
}

/// `text` as an index should hold it for prefix search: its words, lower-cased, without
/// stop words. PostgreSQL's `english` configuration drops them from every `tsvector`; an
/// FTS5 index fed this text holds the same words, so a prefix such as `an` matches
/// `analyzer` on both and `and` on neither.
#[must_use]
pub fn without_stop_words(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .filter(|word| !STOP_WORDS.contains(&word.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A short excerpt of a matching document, HTML-escaped, matched words in `<mark>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet(String);

impl Snippet {
    /// Builds a snippet from an excerpt whose matches are wrapped in
    /// [`MATCH_START`] and [`MATCH_END`].
    #[must_use]
    pub fn from_marked(marked: &str) -> Self {
        let mut html = String::with_capacity(marked.len() + 16);
        for c in marked.chars() {
            match c {
                MATCH_START => html.push_str("<mark>"),
                MATCH_END => html.push_str("</mark>"),
                '&' => html.push_str("&amp;"),
                '<' => html.push_str("&lt;"),
                '>' => html.push_str("&gt;"),
                '"' => html.push_str("&quot;"),
                '\'' => html.push_str("&#39;"),
                '\n' | '\r' | '\t' => html.push(' '),
                c => html.push(c),
            }
        }
        Self(html.trim().to_owned())
    }

    /// The HTML.
    #[must_use]
    pub fn as_html(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::{MATCH_END, MATCH_START, SearchQuery, Snippet};

    #[test]
    fn a_query_keeps_lowercase_words_without_stop_words_or_duplicates() {
        let query = SearchQuery::parse("How do I INSTALL the plug-in, install?");
        let terms = query.map(|q| q.terms().to_vec()).unwrap_or_default();
        assert_eq!(terms, ["install", "plug"]);
    }

    #[test]
    fn query_syntax_of_either_engine_is_only_punctuation() {
        let query = SearchQuery::parse(r#"crash" OR title:* NEAR(a b) & !x | y:*"#);
        let terms = query.map(|q| q.terms().to_vec()).unwrap_or_default();
        assert_eq!(terms, ["crash", "title", "near", "b", "x", "y"]);
    }

    #[test]
    fn only_stop_words_leave_an_empty_query_and_long_text_is_refused() {
        assert!(SearchQuery::parse("how to do it").is_ok_and(|q| q.is_empty()));
        assert!(SearchQuery::parse(&"a".repeat(201)).is_err());
        assert!(SearchQuery::parse("Überwachung").is_ok_and(|q| q.terms() == ["überwachung"]));
    }

    #[test]
    fn indexed_text_keeps_words_but_not_stop_words() {
        assert_eq!(
            super::without_stop_words("Runnables and inlay-hints for the Rust analyzer"),
            "runnables inlay hints rust analyzer"
        );
    }

    #[test]
    fn a_stop_word_being_typed_is_kept_as_a_prefix() {
        let typing = SearchQuery::parse_typing("rust-an").unwrap_or_default();
        assert_eq!(
            (typing.terms(), typing.typing()),
            (&["rust".to_owned()][..], Some("an"))
        );
        let done = SearchQuery::parse_typing("rust an ").unwrap_or_default();
        assert_eq!(done.typing(), None, "a finished word is a stop word again");
        assert!(SearchQuery::parse("an").is_ok_and(|q| q.is_empty()));
        assert!(SearchQuery::parse_typing("an").is_ok_and(|q| !q.is_empty()));
    }

    #[test]
    fn snippets_are_escaped_and_marked() {
        let marked = format!("<b>{MATCH_START}Crash{MATCH_END}</b> & \"more\"\n");
        assert_eq!(
            Snippet::from_marked(&marked).as_html(),
            "&lt;b&gt;<mark>Crash</mark>&lt;/b&gt; &amp; &quot;more&quot;"
        );
    }
}
