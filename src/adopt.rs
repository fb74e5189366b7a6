//! A create made exactly once although its answer may be lost: written once, used by the
//! environment create ([`CreateEnvironment::adopting`](crate::CreateEnvironment::adopting)) and
//! the model branch create ([`CreateBranch`](crate::CreateBranch)).

use std::future::Future;

use crate::error::{Error, Result};

/// The most creates one adopting create sends.
pub(crate) const ROUNDS: u32 = 3;

/// What an adopting create came to: what its create answered, or what it found it had made.
pub(crate) enum Made<T, F> {
    Created(T),
    Found(F),
}

/// Whether a create's outcome is unknown: its answer was lost, or a gateway answered
/// 502/503/504 (the request may have been carried out behind it).
pub(crate) fn outcome_unknown(e: &Error) -> bool {
    matches!(
        e,
        Error::OutcomeUnknown { .. }
            | Error::Server {
                status: 502..=504,
                ..
            }
    )
}

/// Sends the create (`send`); when its outcome is unknown, looks for what it may have made
/// (`find`) and adopts that, else sends it again: at most [`ROUNDS`] creates, the last one's
/// outcome standing whatever it is. `find`'s errors (e.g. two of the name) end it.
pub(crate) async fn create_once<T, F, S, SF, L, LF>(mut send: S, mut find: L) -> Result<Made<T, F>>
where
    S: FnMut() -> SF,
    SF: Future<Output = Result<T>>,
    L: FnMut() -> LF,
    LF: Future<Output = Result<Option<F>>>,
{
    let mut round = 1;
    loop {
        match send().await {
            Err(e) if round < ROUNDS && outcome_unknown(&e) => {
                if let Some(found) = find().await? {
                    return Ok(Made::Found(found));
                }
            }
            other => return other.map(Made::Created),
        }
        round += 1;
    }
}
