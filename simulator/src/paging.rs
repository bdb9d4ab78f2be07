//! Opaque page tokens and key-based paging.
//!
//! A token names the endpoint, the *scope* (partition plus filter) it was issued for and
//! the key of the last item already served. The next page starts at the first item whose
//! key is greater, so rows inserted or deleted between pages are neither skipped nor
//! repeated (unlike offsets).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use feishu_endpoints::Endpoint;

const TAG: &str = "fsim1";

/// Encodes a page token for `endpoint` and `scope`, resuming after `last_key`.
pub(crate) fn encode(endpoint: Endpoint, scope: &str, last_key: &str) -> String {
    let parts = [TAG, endpoint.name(), scope, last_key];
    let json = serde_json::to_string(&parts).expect("strings serialize");
    STANDARD.encode(json)
}

/// Decodes a token; `None` when it is garbage or was issued for another endpoint/scope.
pub(crate) fn decode(endpoint: Endpoint, scope: &str, token: &str) -> Option<String> {
    let bytes = STANDARD.decode(token.trim()).ok()?;
    let parts: Vec<String> = serde_json::from_slice(&bytes).ok()?;
    match parts.as_slice() {
        [tag, ep, sc, key] if tag == TAG && ep == endpoint.name() && sc == scope => {
            Some(key.clone())
        }
        _ => None,
    }
}

/// One page of `items` (sorted ascending by `key`).
pub(crate) struct Page<T> {
    /// Items of this page.
    pub(crate) items: Vec<T>,
    /// Key of the last item served when more follow; `None` on the last page.
    pub(crate) next_after: Option<String>,
}

/// Cuts the page that starts after `after` (a key from [`decode`]) out of `items`.
/// `key` must give the order `items` are sorted by.
pub(crate) fn page<T, K: Ord>(
    items: Vec<T>,
    key: impl Fn(&T) -> K,
    after: Option<K>,
    size: usize,
    render_key: impl Fn(&T) -> String,
) -> Page<T> {
    let mut rest: Vec<T> = match after {
        Some(after) => items.into_iter().filter(|t| key(t) > after).collect(),
        None => items,
    };
    let more = rest.len() > size;
    rest.truncate(size);
    let next_after = if more {
        rest.last().map(render_key)
    } else {
        None
    };
    Page {
        items: rest,
        next_after,
    }
}

/// A short, stable fingerprint of a filter, so tokens cannot cross filters.
pub(crate) fn fingerprint(parts: &[&str]) -> String {
    // FNV-1a, 64 bit.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_other_scopes() {
        let t = encode(Endpoint::Tasks, "s1", "42:abc");
        assert_eq!(decode(Endpoint::Tasks, "s1", &t).as_deref(), Some("42:abc"));
        assert_eq!(decode(Endpoint::Tasks, "s2", &t), None);
        assert_eq!(decode(Endpoint::ApprovalTasks, "s1", &t), None);
        assert_eq!(decode(Endpoint::Tasks, "s1", "garbage!!"), None);
        assert_eq!(
            decode(Endpoint::Tasks, "s1", &STANDARD.encode("[1,2]")),
            None
        );
    }

    #[test]
    fn paging_resumes_after_key_despite_inserts() {
        let items = vec![1, 3, 5, 7];
        let p = page(items, |x| *x, None, 2, |x| x.to_string());
        assert_eq!((p.items, p.next_after.as_deref()), (vec![1, 3], Some("3")));
        // 2 and 4 appear, 5 vanishes, before the second page is read.
        let p = page(vec![1, 2, 3, 4, 7], |x| *x, Some(3), 2, |x| x.to_string());
        assert_eq!((p.items, p.next_after), (vec![4, 7], None));
    }
}
