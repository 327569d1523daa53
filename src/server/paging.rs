//! Lists a page at a time. The API takes `limit` (default [`DEFAULT_LIMIT`], at most
//! [`MAX_PAGE`]) and `offset`, and answers the page with `total`, `limit`, `offset` and `next`
//! (the address of the following page, `null` on the last). The web pages take `?page=N` and
//! show [`PAGE_ROWS`] rows with a line that says which rows these are and links to the pages
//! before and after.

use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Serialize;
use serde_json::json;

use super::web::auth::path_segment;
use crate::register::lookup::MAX_PAGE;
use crate::register::{Page, Paged};

/// Rows of an API page when the request gives no `limit`.
pub const DEFAULT_LIMIT: u64 = 100;

/// Rows of a web page.
pub const PAGE_ROWS: u64 = 100;

/// The page an API request asks for; what is allowed (for a `400`) if `limit` or `offset` is
/// not a number in range.
pub fn api_page(limit: Option<&str>, offset: Option<&str>) -> Result<Page, String> {
    let number = |name: &str, v: &str| {
        v.trim()
            .parse::<u64>()
            .map_err(|_| format!("{name}={v:?} is not a whole number of 0 or more"))
    };
    let limit = match limit {
        Some(v) => number("limit", v)?,
        None => DEFAULT_LIMIT,
    };
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(format!(
            "limit={limit}: ask for 1 to {MAX_PAGE} rows a page, and page on with offset"
        ));
    }
    let offset = match offset {
        Some(v) => number("offset", v)?,
        None => 0,
    };
    Ok(Page { limit, offset })
}

/// An API page: `{ key: [...], "total", "limit", "offset", "next" }`. `path` and `filter` (the
/// request's other parameters) make the address of the next page.
pub fn api_answer<T: Serialize>(
    key: &str,
    paged: Paged<T>,
    page: Page,
    path: &str,
    filter: &[(&str, Option<&str>)],
) -> Response {
    let shown = paged.items.len() as u64;
    let after = page.offset.saturating_add(shown);
    let next = (shown > 0 && after < paged.total).then(|| {
        let mut query: Vec<String> = filter
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={}", path_segment(v))))
            .collect();
        query.push(format!("limit={}", page.limit));
        query.push(format!("offset={after}"));
        format!("{path}?{}", query.join("&"))
    });
    let mut body = json!({
        "total": paged.total,
        "limit": page.limit,
        "offset": page.offset,
        "next": next,
    });
    body[key] = serde_json::to_value(&paged.items).unwrap_or_default();
    axum::Json(body).into_response()
}

/// The page number of a web page's `?page=N` (from 1; anything else is the first page).
pub fn page_number(page: Option<&str>) -> u64 {
    page.and_then(|p| p.trim().parse::<u64>().ok())
        .filter(|&n| n >= 1)
        .unwrap_or(1)
}

/// Which rows of `total` the page `number` shows, with links to the pages before and after.
/// `base` is the page's address with its other parameters, ready for `page=` to follow
/// (ending in `?` or `&`). Nothing when everything fits on one page.
pub fn pager(base: &str, number: u64, total: u64, shown: usize) -> Markup {
    let first = number.saturating_sub(1).saturating_mul(PAGE_ROWS);
    let last_page = total.div_ceil(PAGE_ROWS).max(1);
    if total <= PAGE_ROWS && number == 1 {
        return html! {};
    }
    html! {
        nav.pager aria-label="Pages" {
            @if shown == 0 {
                span { "No rows on page " (number) " of " (last_page) " (" (total) " in all)." }
            } @else {
                span { "Rows " (first + 1) "–" (first + shown as u64) " of " (total)
                       " (page " (number) " of " (last_page) ")." }
            }
            @if number > 1 {
                a rel="prev" href={ (base) "page=" (number.min(last_page + 1) - 1) } { "← Previous" }
            }
            @if number < last_page {
                a rel="next" href={ (base) "page=" (number + 1) } { "Next →" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_pages_are_checked_and_next_follows_the_filter() {
        assert_eq!(
            api_page(None, None).ok(),
            Some(Page {
                limit: 100,
                offset: 0
            })
        );
        assert_eq!(
            api_page(Some("1000"), Some("5")).ok(),
            Some(Page {
                limit: 1000,
                offset: 5
            })
        );
        for (limit, offset) in [
            ("0", "0"),
            ("1001", "0"),
            ("-1", "0"),
            ("x", "0"),
            ("5", "y"),
        ] {
            let why = api_page(Some(limit), Some(offset)).unwrap_err();
            assert!(why.contains(limit) || why.contains(offset), "{why}");
        }
        assert_eq!(page_number(Some("3")), 3);
        assert_eq!(page_number(Some("0")), 1);
        assert_eq!(page_number(Some("x")), 1);
    }

    #[test]
    fn the_pager_links_only_to_pages_that_exist() {
        let one = pager("/x?", 1, 100, 100).into_string();
        assert!(one.is_empty(), "{one}");
        let first = pager("/x?q=a&", 1, 250, 100).into_string();
        assert!(first.contains("Rows 1–100 of 250"), "{first}");
        assert!(first.contains("href=\"/x?q=a&amp;page=2\""), "{first}");
        assert!(!first.contains("prev"), "{first}");
        let last = pager("/x?", 3, 250, 50).into_string();
        assert!(last.contains("Rows 201–250 of 250"), "{last}");
        assert!(
            last.contains("page=2") && !last.contains("rel=\"next\""),
            "{last}"
        );
        let beyond = pager("/x?", 9, 250, 0).into_string();
        assert!(beyond.contains("page=3"), "{beyond}");
    }
}
