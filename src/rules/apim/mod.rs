//! API-M rules that need code: both token caches on, keep-alive vs socket timeout, reactor
//! threads vs cores, and datasource validation queries vs their database.

mod alias_conflict;
mod io_threads;
mod keepalive;
mod token_caches;
mod unread_key;
mod validation_query;

use super::RuleContext;
use crate::finding::Finding;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let Some(apim) = cx.apim else { return };
    token_caches::check(apim, out);
    keepalive::check(apim, out);
    io_threads::check(cx, apim, out);
    validation_query::check(apim, out);
    unread_key::check(apim, out);
    alias_conflict::check(apim, out);
}
