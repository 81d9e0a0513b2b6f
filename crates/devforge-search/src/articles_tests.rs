//! The knowledge-base index on its own: stems, title boost, filters, snippets, rebuilds.

use crate::ArticleSearchIndex;
use chrono::{TimeZone, Utc};
use devforge_domain::{PageRequest, SearchQuery, UserId};
use devforge_support::article::ArticleText;
use devforge_support::ports::ArticleFilter;
use devforge_support::{Article, ArticleId, ArticleIndex, ArticleStatus, Label, Slug};

fn article(slug: &str, title: &str, body: &str, status: ArticleStatus, day: u32) -> Article {
    let at = Utc
        .with_ymd_and_hms(2026, 11, day, 9, 0, 0)
        .single()
        .unwrap_or_default();
    Article {
        id: ArticleId::generate(),
        slug: Slug::parse(slug).unwrap_or_else(|e| panic!("{slug}: {e}")),
        text: ArticleText {
            title: title.to_owned(),
            body: body.to_owned(),
        },
        category: Label::from_trusted("getting-started".to_owned()),
        tags: vec![Label::from_trusted(format!("tag-{slug}"))],
        status,
        author: UserId::generate(),
        revision: 1,
        created_at: at,
        updated_at: at,
        published_at: (status == ArticleStatus::Published).then_some(at),
        views: 0,
        helpful_yes: 0,
        helpful_no: 0,
    }
}

fn corpus() -> Vec<Article> {
    use ArticleStatus::{Draft, Published};
    vec![
        article(
            "body-twice",
            "Proxy settings",
            "Install updates; install again.",
            Published,
            1,
        ),
        article(
            "in-title",
            "Installing extensions",
            "Open the panel.",
            Published,
            2,
        ),
        article(
            "body-once",
            "Offline use",
            "Installing needs <b>care</b> & a network.",
            Published,
            3,
        ),
        article("draft", "Install drafts", "Not public.", Draft, 4),
        article("equal-old", "Themes", "Colour themes.", Published, 5),
        article("equal-new", "Themes", "Colour themes.", Published, 6),
    ]
}

fn built() -> (ArticleSearchIndex, Vec<Article>) {
    let index = ArticleSearchIndex::new();
    let articles = corpus();
    index
        .rebuild(7, &articles)
        .unwrap_or_else(|e| panic!("rebuild: {e}"));
    (index, articles)
}

fn slugs(
    index: &ArticleSearchIndex,
    articles: &[Article],
    q: &str,
    filter: &ArticleFilter,
) -> Vec<String> {
    let query = SearchQuery::parse(q).unwrap_or_default();
    let page = index
        .search(&query, filter, PageRequest::default())
        .unwrap_or_else(|e| panic!("search {q}: {e}"));
    page.items
        .iter()
        .filter_map(|hit| articles.iter().find(|a| a.id == hit.id))
        .map(|a| a.slug.as_str().to_owned())
        .collect()
}

fn published() -> ArticleFilter {
    ArticleFilter {
        status: Some(ArticleStatus::Published),
        ..ArticleFilter::default()
    }
}

#[test]
fn stems_match_and_a_title_match_ranks_above_body_matches() {
    let (index, articles) = built();
    assert_eq!(index.generation(), Some(7));
    assert_eq!(
        slugs(&index, &articles, "install", &published()),
        ["in-title", "body-twice", "body-once"],
        "title first, then the body that says it more often"
    );
    assert_eq!(
        slugs(&index, &articles, "installs", &ArticleFilter::default()),
        ["in-title", "draft", "body-twice", "body-once"],
        "no status filter: every status, the stem of `installs` matching; of equal title \
         matches the published one first"
    );
    assert_eq!(
        slugs(&index, &articles, "install panel", &published()),
        ["in-title"],
        "every term must match"
    );
    assert!(slugs(&index, &articles, "uninstall", &published()).is_empty());
}

#[test]
fn equal_scores_list_the_most_recently_published_first() {
    let (index, articles) = built();
    assert_eq!(
        slugs(&index, &articles, "themes", &published()),
        ["equal-new", "equal-old"]
    );
}

#[test]
fn filters_narrow_matches_and_the_total_counts_them_all() {
    let (index, articles) = built();
    let tagged = ArticleFilter {
        tag: Some(Label::from_trusted("tag-body-once".to_owned())),
        ..published()
    };
    assert_eq!(slugs(&index, &articles, "install", &tagged), ["body-once"]);
    let elsewhere = ArticleFilter {
        category: Some(Label::from_trusted("network".to_owned())),
        ..published()
    };
    assert!(slugs(&index, &articles, "install", &elsewhere).is_empty());
    let query = SearchQuery::parse("install").unwrap_or_default();
    let first = PageRequest::new(Some(1), Some(1)).unwrap_or_default();
    let page = index.search(&query, &published(), first);
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((page.items.len(), page.total), (1, 3));
}

#[test]
fn snippets_mark_matches_in_escaped_text_or_start_the_body() {
    let (index, _) = built();
    let query = SearchQuery::parse("installing").unwrap_or_default();
    let page = index.search(&query, &published(), PageRequest::default());
    let page = page.unwrap_or_else(|e| panic!("{e}"));
    let html: Vec<&str> = page.items.iter().map(|hit| hit.snippet.as_html()).collect();
    assert_eq!(
        html[0], "Open the panel.",
        "only the title matched: the body's start"
    );
    assert_eq!(
        html[1],
        "<mark>Install</mark> updates; <mark>install</mark> again"
    );
    assert_eq!(
        html[2],
        "<mark>Installing</mark> needs &lt;b&gt;care&lt;/b&gt; &amp; a network"
    );
}

#[test]
fn a_rebuild_replaces_everything_held() {
    let (index, _) = built();
    let only = vec![article(
        "only",
        "Debugging",
        "Breakpoints.",
        ArticleStatus::Published,
        9,
    )];
    index.rebuild(8, &only).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(index.generation(), Some(8));
    assert!(slugs(&index, &only, "install", &published()).is_empty());
    assert_eq!(slugs(&index, &only, "breakpoint", &published()), ["only"]);
}
