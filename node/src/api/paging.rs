//! Paging of the JSON lists: `?page=&per_page=` on a list endpoint answers with that
//! page's rows as the body and the count of every row in `X-Total-Count`, so a client
//! walks a long list a page at a time and knows when it has all of it.

use axum::Json;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::Failure;

/// Rows per page when `per_page` is not given.
pub const DEFAULT_PER_PAGE: u32 = 100;
/// The most rows a page holds.
pub const MAX_PER_PAGE: u32 = 500;
/// The response header holding how many rows the list has on every page.
pub const TOTAL_HEADER: &str = "x-total-count";

/// `page` (from 1, default 1) and `per_page` (1–500, default 100).
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// The page, from 1 (default 1).
    #[serde(default)]
    pub page: Option<u32>,
    /// Rows per page, 1–500 (default 100).
    #[serde(default)]
    pub per_page: Option<u32>,
}

impl PageParams {
    /// The rows to skip and to return, or the field error naming what is wrong.
    pub fn window(&self) -> Result<(usize, usize), Failure> {
        let page = self.page.unwrap_or(1);
        if page == 0 {
            return Err(Failure::bad_input("page", "a whole number from 1"));
        }
        let per = self.per_page.unwrap_or(DEFAULT_PER_PAGE);
        if !(1..=MAX_PER_PAGE).contains(&per) {
            return Err(Failure::bad_input(
                "per_page",
                format!("a whole number from 1 to {MAX_PER_PAGE}"),
            ));
        }
        Ok(((page as usize - 1) * per as usize, per as usize))
    }

    /// The page of `rows` (all of the list, in its order), with its total.
    pub fn answer<T: Serialize>(&self, rows: Vec<T>) -> Result<Response, Failure> {
        let (skip, take) = self.window()?;
        let total = rows.len() as u64;
        let page: Vec<T> = rows.into_iter().skip(skip).take(take).collect();
        Ok(counted(page, total))
    }
}

/// A page of rows with the count of the whole list in [`TOTAL_HEADER`].
pub fn counted<T: Serialize>(rows: Vec<T>, total: u64) -> Response {
    let mut r = Json(rows).into_response();
    r.headers_mut()
        .insert(TOTAL_HEADER, HeaderValue::from(total));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_a_window_and_bad_numbers_are_named() {
        let p = PageParams {
            page: Some(2),
            per_page: Some(10),
        };
        assert_eq!(p.window().unwrap(), (10, 10));
        assert_eq!(PageParams::default().window().unwrap(), (0, 100));
        for (page, per, field) in [
            (Some(0), None, "page"),
            (None, Some(0), "per_page"),
            (None, Some(501), "per_page"),
        ] {
            let e = PageParams {
                page,
                per_page: per,
            }
            .window()
            .unwrap_err();
            assert_eq!(e.parts().1.field.as_deref(), Some(field));
        }
    }
}
