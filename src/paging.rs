//! Following `nextCursor` across the pages of any cursor-paged list.

use std::{collections::HashSet, future::Future};

use futures_util::{Stream, TryStreamExt, stream};

use crate::{
    error::{Error, Result},
    model::Page,
};

/// A list request that can fetch one page and be pointed at another cursor.
pub(crate) trait PagedRequest: Clone + Send + 'static {
    /// What a page holds.
    type Item: Send + 'static;

    /// Fetches the page this request points at.
    fn fetch(self) -> impl Future<Output = Result<Page<Self::Item>>> + Send;

    /// The same request, at `cursor`.
    fn at(self, cursor: String) -> Self;
}

/// Every record on every page, fetched as the stream is read. A cursor that comes back a
/// second time ends the stream with [`Error::UnexpectedResponse`] instead of looping.
pub(crate) fn every_record<R: PagedRequest>(
    request: R,
) -> impl Stream<Item = Result<R::Item>> + Send + 'static {
    let state = Some((request, HashSet::new()));
    stream::try_unfold(state, |state| async move {
        let Some((request, mut seen)) = state else {
            return Ok(None);
        };
        let page = request.clone().fetch().await?;
        let next = match page.next_cursor {
            None => None,
            Some(cursor) if !seen.insert(cursor.clone()) => {
                return Err(Error::UnexpectedResponse {
                    status: 200,
                    detail: Some(format!(
                        "the list repeated the cursor \"{cursor}\"; paging stopped"
                    )),
                });
            }
            Some(cursor) => Some((request.at(cursor), seen)),
        };
        Ok(Some((page.records, next)))
    })
    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
}

/// Omni's page-size rule for its cursor-paged lists: 1 to 100.
pub(crate) fn check_page_size(size: Option<u32>) -> Result<()> {
    match size {
        None | Some(1..=100) => Ok(()),
        Some(n) => Err(Error::invalid(
            "pageSize",
            format!("must be between 1 and 100, got {n}"),
        )),
    }
}
